"""ONNX Runtime backend (CPU execution provider); no torch, no ultralytics."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from edge.config import DetectorConfig
from edge.vision.letterbox import Blob
from edge.vision.runtime.base import ExportedModelDetector
from edge.vision.runtime.metadata import ExportedModel, ExportFormat, InvalidModelError


class OnnxRuntimeSession:
    """One ``onnxruntime.InferenceSession`` with all graph optimisations enabled.

    ``threads`` is the intra-op thread count (0: ONNX Runtime's default, one per core).
    """

    batching_pays = False
    """Four 640×480 tiles: one batch of 4 took 15% longer than 4 single runs (1280×960: 23%)."""

    def __init__(self, exported: ExportedModel, threads: int) -> None:
        import onnxruntime

        if exported.metadata.format is not ExportFormat.ONNX:
            raise InvalidModelError(
                f"{exported.directory} is a {exported.metadata.format} export; "
                "ONNX Runtime needs an onnx export"
            )
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = onnxruntime.InferenceSession(
            str(exported.model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_name: str = self._session.get_inputs()[0].name

    def run(self, blob: Blob) -> npt.NDArray[np.float32]:
        outputs = self._session.run(None, {self._input_name: blob})
        return np.asarray(outputs[0], dtype=np.float32)


class OnnxRuntimeDetector(ExportedModelDetector):
    """People from an ONNX export through ONNX Runtime on the CPU."""

    def __init__(self, exported: ExportedModel, config: DetectorConfig) -> None:
        session = OnnxRuntimeSession(exported, config.threads)
        super().__init__("onnxruntime", exported, session, config)
