"""Torch-free detector runtimes for exported YOLO models (ONNX Runtime, OpenVINO).

Nothing in this package imports torch or ultralytics; the runtimes themselves are imported
only when a backend is constructed.
"""
