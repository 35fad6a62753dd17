"""Detector latency by OpenVINO precision (bfloat16 where the CPU has it, float32, INT8),
thread count and input: the PETS door line's region of interest against the full frame.

    python benchmarks/detector_precision.py --int8 ~/.cache/footfall/models/...-openvino-int8-pets

One PETS frame, one ``detect`` call per repetition (letterbox, inference, decoding), for each
setting in turn, round after round; the *fastest* of the rounds is the figure (other work on
shared cores only ever adds time), the median is printed beside it, and the median CPU time of
the process (all its threads: what the detector costs, however busy the machine is).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage" / "PETS09-S2L1"


def main() -> None:
    import cv2
    import numpy as np

    from edge.adhoc import build_config
    from edge.vision.detector import exported_model
    from edge.vision.regions import RegionDetector
    from edge.vision.runtime.metadata import load_exported_model
    from edge.vision.runtime.openvino_runtime import OpenVinoDetector

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--int8", type=Path, help="an export made by footfall edge quantize")
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args()
    capture = cv2.VideoCapture(str(FOOTAGE / "vtest.avi"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = capture.read()
    if not ok:
        raise SystemExit("cannot read the PETS clip")
    image = np.asarray(frame, dtype=np.uint8)
    settings = []
    for threads in (2, 1):
        config, camera_id = build_config("unused", None, ["door=384,150,384,576@100,363"])
        config.detector.threads = threads
        camera = config.camera(camera_id)
        exported = exported_model(config.detector)
        assert exported is not None
        detectors = {
            "bf16 (auto)": OpenVinoDetector(exported, config.detector),
            "f32": OpenVinoDetector(exported, config.detector, precision="f32"),
        }
        if arguments.int8:
            detectors["int8"] = OpenVinoDetector(
                load_exported_model(arguments.int8), config.detector
            )
        for name, detector in detectors.items():
            regions = RegionDetector(detector, config.detector.regions)
            settings.append((f"{name}, {threads} thread(s), door region 416×928", regions, camera))
            full = RegionDetector(
                detector, config.detector.regions.model_copy(update={"enabled": False})
            )
            settings.append((f"{name}, {threads} thread(s), full frame 1280×960", full, camera))
    timings: dict[str, list[float]] = {label: [] for label, _, _ in settings}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in settings}
    people: dict[str, int] = {}
    for label, looking, camera in settings:  # warm-up: compile each shape once
        people[label] = len(looking.detect([image], [camera])[0])
    for _ in range(arguments.rounds):
        for label, looking, camera in settings:
            started, started_cpu = time.perf_counter(), time.process_time()
            looking.detect([image], [camera])
            timings[label].append(1000 * (time.perf_counter() - started))
            cpu[label].append(1000 * (time.process_time() - started_cpu))
    print("| setting | fastest ms | median ms | median CPU ms (all threads) | people found |")
    print("|---|---:|---:|---:|---:|")
    for label, values in timings.items():
        print(
            f"| {label} | {min(values):.1f} | {statistics.median(values):.1f} "
            f"| {statistics.median(cpu[label]):.1f} | {people[label]} |"
        )


if __name__ == "__main__":
    main()
