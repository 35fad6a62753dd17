"""Edge speed and accuracy: Ultralytics' ObjectCounter (the anchor) against footfall's edge
worker with each backend and input size, on the same clip and the same model.

    python benchmarks/edge_speed.py                 # PETS09-S2L1 from ../shared, every frame
    python benchmarks/edge_speed.py --frames 200    # quicker
    python benchmarks/edge_speed.py --video clip.avi --truth gt.txt --line 384,150,384,576@100,363
    python benchmarks/edge_speed.py --bar 3         # whole commands: footfall edge replay vs
                                                    # ObjectCounter, model load included

Every run is a separate process (so peak RSS is its own) and prints: frames per second end to
end, milliseconds per stage (decode — in its own thread, overlapping —, detect, track, count,
publish), peak RSS, and the line-crossing counts with their accuracy against the ground truth
(and per-frame people-count MAE). footfall's default profile publishes to a throw-away
Mosquitto through the real outbox, so ``publish`` is the real cost. Finally, four cameras in
one worker (the same clip four times) report per-camera fps.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage" / "PETS09-S2L1"
DEFAULT_LINE = "384,150,384,576@100,363"
FULL_FRAME: dict[str, Any] = {"regions": {"enabled": False}, "motion": {"enabled": False}}
"""The detector's settings before regions of interest and motion gating."""
RUNS: dict[str, dict[str, Any]] = {
    "objectcounter-1280": {"anchor": True, "imgsz": 1280},
    "footfall-default": {"detector": {}, "publish": True},
    "footfall-default-1-thread": {"detector": {"threads": 1}},
    "footfall-full-frame": {"detector": FULL_FRAME},
    "footfall-full-frame-1-thread": {"detector": {**FULL_FRAME, "threads": 1}},
    "footfall-regions-no-motion": {"detector": {"regions": {"enabled": True}}},
    "footfall-regions-motion": {
        "detector": {"regions": {"enabled": True}, "motion": {"enabled": True}}
    },
    "footfall-default-openvino-f32": {"detector": {}, "precision": "f32"},
    "footfall-default-openvino-f32-1-thread": {"detector": {"threads": 1}, "precision": "f32"},
    "footfall-default-int8": {"detector": {}, "precision": "int8"},
    "footfall-default-int8-1-thread": {"detector": {"threads": 1}, "precision": "int8"},
    "footfall-openvino-960": {"detector": {"backend": "openvino", "imgsz": 960}},
    "footfall-onnxruntime-1280": {"detector": {"backend": "onnxruntime"}},
    "footfall-ultralytics-1280": {"detector": {"backend": "ultralytics"}},
    "footfall-openvino-tiles-2x2@640": {
        "detector": {"backend": "openvino", "imgsz": 640, "tiling": {"rows": 2, "columns": 2}}
    },
    "footfall-default-ultralytics-tracker": {
        "detector": {},
        "tracker": {"implementation": "ultralytics"},
    },
    "footfall-4-cameras": {"detector": {}, "cameras": 4},
}


def peak_rss_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def truth_counts(truth: Path, frames: int, line: str) -> tuple[dict[str, int], list[int]]:
    from edge.adhoc import build_config
    from edge.audit import load_mot, true_crossings
    from edge.counting.counters import Direction

    boxes = [box for box in load_mot(truth) if box.frame <= frames]
    config, _ = build_config("unused", None, [f"door={line}"])
    crossing = true_crossings(boxes, config.cameras[0])["door"]
    people = [0] * frames
    for box in boxes:
        people[box.frame - 1] += 1
    return {"in": crossing[Direction.ENTRY], "out": crossing[Direction.EXIT]}, people


def people_in_regions(truth: Path, frames: int, regions: list[list[int]]) -> list[int]:
    """True people per frame who stand (box bottom-centre) inside the regions (all: none)."""
    from edge.audit import load_mot

    people = [0] * frames
    for box in load_mot(truth):
        x1, _, x2, y2 = box.box
        x, y = (x1 + x2) / 2, y2
        inside = not regions or any(
            left <= x < right and top <= y <= bottom for left, top, right, bottom in regions
        )
        if box.frame <= frames and inside:
            people[box.frame - 1] += 1
    return people


def limited_clip(video: Path, frames: int, directory: Path) -> Path:
    """The first ``frames`` frames as a folder of images, so every run reads the same ones."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if frames >= count:
        capture.release()
        return video
    folder = directory / "clip"
    (folder / "img1").mkdir(parents=True)
    for index in range(1, frames + 1):
        ok, image = capture.read()
        if not ok:
            break
        cv2.imwrite(str(folder / "img1" / f"{index:06d}.png"), image)
    capture.release()
    return folder


def run_anchor(video: Path, line: str, fps: float, imgsz: int) -> dict[str, Any]:
    """Ultralytics' own counter with the same model and input size, as its docs use it."""
    import cv2

    from edge.offline import bundled_weights, disable_ultralytics_sync

    disable_ultralytics_sync()
    from ultralytics import solutions

    points, inside = line.split("@")
    x1, y1, x2, y2 = (float(value) for value in points.split(","))
    counter = solutions.ObjectCounter(
        model=str(bundled_weights()),
        region=[(x1, y1), (x2, y2)],
        classes=[0],
        imgsz=imgsz,
        show=False,
        verbose=False,
    )
    from edge.config import SourceConfig
    from edge.vision.sources import RecordedSource

    source = RecordedSource(SourceConfig(uri=str(video), fps=fps))
    people: list[int] = []
    started = time.perf_counter()
    for frame in source:
        results = counter(frame.image)
        people.append(int(results.total_tracks))
    seconds = time.perf_counter() - started
    inside_x = float(inside.split(",")[0])
    # ObjectCounter calls motion to the right of a vertical line "in"; map to our inside side
    rightward_is_entry = inside_x > max(x1, x2)
    entries = counter.in_count if rightward_is_entry else counter.out_count
    exits = counter.out_count if rightward_is_entry else counter.in_count
    del cv2
    return {
        "frames": len(people),
        "seconds": seconds,
        "in": entries,
        "out": exits,
        "people": people,
        "stages": {},
        "detector": f"ultralytics ObjectCounter imgsz {imgsz}",
        "tracker": "ultralytics bytetrack",
    }


def precision_detector(config: Any, spec: dict[str, Any]) -> Any:
    """OpenVINO forced to float32, or the INT8 export named by ``$FOOTFALL_INT8_MODEL`` (made by
    ``footfall edge quantize``); None: what the config picks (bfloat16 on this CPU)."""
    import os

    from edge.vision.detector import exported_model
    from edge.vision.runtime.metadata import load_exported_model
    from edge.vision.runtime.openvino_runtime import OpenVinoDetector

    precision = spec.get("precision")
    if precision == "f32":
        exported = exported_model(config.detector)
        if exported is None:
            raise SystemExit("no exported model: run footfall edge export")
        return OpenVinoDetector(exported, config.detector, precision="f32")
    if precision == "int8":
        path = os.environ.get("FOOTFALL_INT8_MODEL")
        if not path:
            raise SystemExit("set FOOTFALL_INT8_MODEL to an export made by footfall edge quantize")
        return OpenVinoDetector(load_exported_model(Path(path)), config.detector)
    return None


def run_footfall(video: Path, line: str, fps: float, spec: dict[str, Any]) -> dict[str, Any]:
    from edge.config import EdgeConfig
    from edge.transport.sinks import MemorySink, open_sink
    from edge.worker import EdgeWorker, ProcessedFrame
    from footfall.local_services import mosquitto
    from protocol.version import SOFTWARE_VERSION

    points, inside = line.split("@")
    x1, y1, x2, y2 = (float(value) for value in points.split(","))
    ix, iy = (float(value) for value in inside.split(","))
    cameras = spec.get("cameras", 1)
    with tempfile.TemporaryDirectory() as directory:
        broker = mosquitto(Path(directory) / "broker") if spec.get("publish") else None
        config = EdgeConfig.model_validate(
            {
                "store_id": "bench",
                "cameras": [
                    {
                        "id": f"camera-{index}",
                        "source": {
                            "uri": str(video),
                            "fps": fps,
                            "start_time_utc": "2026-01-05T09:00:00Z",
                        },
                        "lines": [
                            {"id": "door", "points": [[x1, y1], [x2, y2]], "inside": [ix, iy]}
                        ],
                    }
                    for index in range(cameras)
                ],
                "detector": spec.get("detector", {}),
                "tracker": spec.get("tracker", {}),
                "mqtt": {"host": "127.0.0.1", "port": broker.port} if broker else None,
                "outbox": {"path": str(Path(directory) / "outbox.sqlite3")},
            }
        )
        if broker is not None:
            broker.start()
        sink = open_sink(config, SOFTWARE_VERSION) if broker else MemorySink()
        people: list[int] = []

        def record(processed: ProcessedFrame) -> None:
            if processed.camera.config.id == "camera-0":
                people.append(len(processed.detected))

        worker = EdgeWorker(
            config, sink, detector=precision_detector(config, spec), on_frame=record
        )
        sink.start()
        started = time.perf_counter()
        worker.run()
        seconds = time.perf_counter() - started
        sink.stop(10.0)
        if broker is not None:
            broker.stop()
    first = worker.cameras[0]
    stages = first.stages.milliseconds_per_frame(first.frames_processed)
    return {
        "frames": first.frames_processed,
        "seconds": seconds,
        "in": first.counter.totals["door"].entries,
        "out": first.counter.totals["door"].exits,
        "people": people,
        "stages": stages,
        "detector": worker.detector.name,
        "tracker": first.tracker.name,
        "per_camera_fps": [
            round(camera.frames_processed / seconds, 2) for camera in worker.cameras
        ],
        "regions": [
            [region.left, region.top, region.right, region.bottom]
            for region in worker.regions.plans()["camera-0"].regions
        ],
        "duty_cycle": round(worker.motion.duty["camera-0"].fraction, 4),
    }


def single(name: str, video: Path, line: str, fps: float) -> None:
    spec = RUNS[name]
    if spec.get("anchor"):
        result = run_anchor(video, line, fps, spec["imgsz"])
    else:
        result = run_footfall(video, line, fps, spec)
    result["peak_rss_mb"] = round(peak_rss_megabytes(), 1)
    print("RESULT " + json.dumps(result))


BAR_PROFILES: dict[str, dict[str, Any]] = {
    "footfall-default": {},
    "footfall-default-1-thread": {"threads": 1},
    "footfall-full-frame": FULL_FRAME,
    "footfall-no-motion-gating": {"motion": {"enabled": False}},
    "footfall-margin-86px": {"regions": {"margin_px": 86}},
    "footfall-margin-86px-no-motion-gating": {
        "regions": {"margin_px": 86},
        "motion": {"enabled": False},
    },
}
"""Detector settings of the whole-command runs; everything else is the shipped default."""


def whole_command(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, all threads) of one command in a new process,
    start-up and model load included. CPU seconds hardly change when other work shares the
    cores; wall-clock seconds do."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def bar(video: Path, line: str, fps: float, frames: int, rounds: int) -> None:
    """The issue's bar: ``footfall edge replay`` as a whole command against ObjectCounter at
    imgsz 1280 as a whole process, same clip, same run; footfall runs interleaved, medians."""
    import statistics

    import yaml

    points, inside = line.split("@")
    x1, y1, x2, y2 = (float(value) for value in points.split(","))
    footfall = str(Path(sys.executable).with_name("footfall"))
    seconds: dict[str, list[float]] = {name: [] for name in BAR_PROFILES}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in BAR_PROFILES}
    counts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, detector in BAR_PROFILES.items():
            camera = {
                "id": "camera",
                "source": {"uri": str(video), "fps": fps},
                "lines": [
                    {
                        "id": "door",
                        "points": [[x1, y1], [x2, y2]],
                        "inside": [float(value) for value in inside.split(",")],
                    }
                ],
            }
            config = {"store_id": "bench", "cameras": [camera], "detector": detector}
            (Path(directory) / f"{name}.yaml").write_text(yaml.safe_dump(config))
        anchor_command = [
            sys.executable, __file__, "--single", "objectcounter-1280",
            "--video", str(video), "--line", line, "--fps", str(fps),
        ]  # fmt: skip
        anchor_seconds = anchor_cpu = 0.0
        for round_index in range(rounds):
            for name in BAR_PROFILES:
                report = Path(directory) / f"{name}.json"
                wall, cpu = whole_command(
                    [footfall, "edge", "replay", str(video), "--config",
                     str(Path(directory) / f"{name}.yaml"), "--report", str(report)]
                )  # fmt: skip
                seconds[name].append(wall)
                cpu_seconds[name].append(cpu)
                counts[name] = json.loads(report.read_text())["lines"]["door"]
                print(f"{name}: {wall:.1f} s, cpu {cpu:.1f} s", file=sys.stderr, flush=True)
            if round_index == 0:
                anchor_seconds, anchor_cpu = whole_command(anchor_command)
                print(
                    f"objectcounter-1280: {anchor_seconds:.1f} s, cpu {anchor_cpu:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    print(f"\nwhole commands, {frames} frames, median of {rounds} (anchor: one run)")
    print("| command | seconds | fps | × ObjectCounter | CPU seconds | × (CPU) | in | out |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| ObjectCounter imgsz 1280 | {anchor_seconds:.1f} | {frames / anchor_seconds:.2f} "
        f"| 1.0 | {anchor_cpu:.1f} | 1.0 | | |"
    )
    for name, values in seconds.items():
        median = statistics.median(values)
        cpu = statistics.median(cpu_seconds[name])
        print(
            f"| {name} | {median:.1f} | {frames / median:.2f} | {anchor_seconds / median:.1f} "
            f"| {cpu:.1f} | {anchor_cpu / cpu:.1f} | {counts[name]['in']} | {counts[name]['out']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", type=Path, default=FOOTAGE / "vtest.avi")
    parser.add_argument("--truth", type=Path, default=FOOTAGE / "gt" / "gt.txt")
    parser.add_argument("--fps", type=float, default=7.0, help="true frame rate of the clip")
    parser.add_argument("--line", default=DEFAULT_LINE, help="x1,y1,x2,y2@inside_x,inside_y")
    parser.add_argument("--frames", type=int, default=0, help="first N frames only (0: all)")
    parser.add_argument("--only", default="", help="comma-separated run names")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--bar", type=int, metavar="ROUNDS", help="time whole commands instead (ROUNDS each)"
    )
    parser.add_argument("--single", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.single:
        single(arguments.single, arguments.video, arguments.line, arguments.fps)
        return
    import cv2

    total = int(cv2.VideoCapture(str(arguments.video)).get(cv2.CAP_PROP_FRAME_COUNT))
    frames = min(arguments.frames or total, total)
    if arguments.bar:
        bar(arguments.video, arguments.line, arguments.fps, total, arguments.bar)
        return
    names = [name for name in RUNS if not arguments.only or name in arguments.only.split(",")]
    truth, true_people = truth_counts(arguments.truth, frames, arguments.line)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as directory:
        video = limited_clip(arguments.video, frames, Path(directory))
        for name in names:
            command = [
                sys.executable,
                __file__,
                "--single",
                name,
                "--video",
                str(video),
                "--line",
                arguments.line,
                "--fps",
                str(arguments.fps),
            ]
            completed = subprocess.run(command, capture_output=True, text=True, check=False)
            line = next(
                (row for row in completed.stdout.splitlines() if row.startswith("RESULT ")), None
            )
            if line is None:
                print(f"{name}: failed\n{completed.stderr[-2000:]}", file=sys.stderr)
                continue
            result = json.loads(line.removeprefix("RESULT "))
            people = result.pop("people")
            truth_people = true_people
            if result.get("regions"):
                # the detector only looks at the regions: compare with the people in them
                truth_people = people_in_regions(arguments.truth, frames, result["regions"])
            result["people_mae"] = round(
                sum(abs(a - b) for a, b in zip(people, truth_people, strict=False))
                / max(len(people), 1),
                3,
            )
            result["fps"] = round(result["frames"] / result["seconds"], 2)
            results[name] = result
            print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    print_table(results, truth, frames)
    if arguments.json:
        arguments.json.write_text(
            json.dumps({"truth": truth, "frames": frames, "runs": results}, indent=2)
        )


def print_table(results: dict[str, dict[str, Any]], truth: dict[str, int], frames: int) -> None:
    anchor = results.get("objectcounter-1280", {}).get("fps")
    header = (
        "run",
        "detector / tracker",
        "fps",
        "x anchor",
        "decode",
        "detect",
        "track",
        "count",
        "publish",
        "RSS MB",
        f"in ({truth['in']})",
        f"out ({truth['out']})",
        "MAE",
    )
    print(f"\n{frames} frames; true crossings: {truth['in']} in, {truth['out']} out")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, result in results.items():
        stages = result["stages"]
        speedup = f"{result['fps'] / anchor:.1f}" if anchor else "-"
        print(
            "| "
            + " | ".join(
                [
                    name,
                    f"{result['detector']} / {result['tracker']}",
                    f"{result['fps']:.2f}",
                    speedup,
                    *(
                        f"{stages[stage]:.1f}" if stage in stages else "-"
                        for stage in ("decode", "detect", "track", "count", "publish")
                    ),
                    f"{result['peak_rss_mb']:.0f}",
                    str(result["in"]),
                    str(result["out"]),
                    f"{result['people_mae']:.3f}",
                ]
            )
            + " |"
        )
        if len(result.get("per_camera_fps", [])) > 1:
            print(
                f"|   per-camera fps ({len(result['per_camera_fps'])} cameras in one worker): "
                f"{', '.join(map(str, result['per_camera_fps']))} |"
            )
    for name, result in results.items():
        stages = result["stages"]
        if stages.get("detect"):
            overhead = stages["track"] + stages["count"] + stages["publish"]
            share = 100 * overhead / stages["detect"]
            print(f"{name}: tracking + counting + publishing = {share:.1f}% of detector time")


if __name__ == "__main__":
    main()
