"""footfall aggregator: MQTT in, validated and deduplicated time series out."""
