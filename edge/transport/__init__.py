"""Counts to the aggregator: the durable SQLite outbox (first), the MQTT publisher (then) and
the sinks the worker writes to."""
