"""InfluxDB: the client, line protocol, and the schema (measurements, fields, points). The only
package that builds InfluxDB points or names measurements and fields."""
