"""Importers: hourly visit counts from outside sources written into the product's own schema
(``line_counts`` on an entrance line plus ``camera_intervals`` for coverage), so imported data
is analysed exactly like data counted by the edge workers."""
