"""footfall edge worker: camera frames in, anonymised count intervals out."""

from edge.offline import disable_openvino_telemetry

# Before anything can import openvino: it would otherwise send usage telemetry on import.
disable_openvino_telemetry()
