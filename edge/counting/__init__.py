"""People to counts: line geometry, tracking adapters, line and zone counters, one camera's
counting state and the interval accumulator. Pure: no model, no drawing, no I/O."""
