"""The ingest service (``footfall aggregator run``): MQTT consumer, validation, deduplication,
batched InfluxDB writer with its spool, and live store occupancy."""
