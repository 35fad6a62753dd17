"""Grafana dashboards as code: Python definitions that write Grafana's dashboard JSON directly
-> committed JSON, Grafana provisioning files, and a push command for Grafana's HTTP API. The
tests check the JSON against Grafana's schemas and run its queries and transformations.
"""
