"""Alerts (``aggregator run`` with an ``alerts`` section): over capacity, an entrance camera
offline, a day's visits far below the usual; published on MQTT and to a webhook."""
