"""Grafana dashboards as code: Python definitions (grafanalib) -> committed JSON, Grafana
provisioning files, a push command for Grafana's HTTP API, and a substitution of Grafana's
InfluxQL macros so that every query of a dashboard can be run against a real InfluxDB in tests.
"""
