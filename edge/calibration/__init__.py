"""``footfall edge calibrate``: the settings that count best on one camera's own recording."""
