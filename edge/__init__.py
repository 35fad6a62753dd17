"""footfall edge worker: camera frames in, anonymised count intervals out."""
