"""Policy impact analysis: did a change made on a date change store visits, by how much, and
how sure are we? Computing modules (``daily``, ``regression``, ``estimators``, ``analysis``)
do no I/O; ``source`` reads InfluxDB or CSV, ``report`` and ``plot`` present the result.

Heavy libraries (pandas, statsmodels, matplotlib) are imported by the modules that need them,
never by this package, so ``footfall --help`` stays fast."""
