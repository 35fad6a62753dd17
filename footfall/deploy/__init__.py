"""Deployment helpers: per-store MQTT credentials and the broker's ACL file."""
