"""Motion gating on real footage: how often the detector runs, and whether anyone who walks
into the regions of interest has to wait for it.

    python benchmarks/motion_gating.py            # PETS09-S2L1 and CAVIAR, door lines

Per clip, in one process: the edge worker with regions of interest, motion gating off and then
on (shipped settings otherwise), recording per frame whether the detector ran. From the ground
truth: every person's first frame standing (box bottom-centre) inside a region — they *walk
in* — and how many frames pass until the detector next runs; and every frame a person inside a
region has moved more than ``--moved-px`` since the detector last ran (*stale* person-frames).
Door counts of both runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
CLIPS: dict[str, dict[str, Any]] = {
    "PETS09-S2L1": {
        "video": FOOTAGE / "PETS09-S2L1" / "vtest.avi",
        "truth": FOOTAGE / "PETS09-S2L1" / "gt" / "gt.txt",
        "fps": 7.0,
        "door": {"points": [[384, 150], [384, 576]], "inside": [100, 363]},
    },
    "CAVIAR-EnterExitCrossingPaths1front": {
        "video": FOOTAGE
        / "CAVIAR-EnterExitCrossingPaths1front"
        / "EnterExitCrossingPaths1front.mpg",
        "truth": FOOTAGE / "CAVIAR-EnterExitCrossingPaths1front" / "gt" / "gt.txt",
        "fps": None,
        "door": {"points": [[185, 128], [384, 128]], "inside": [280, 90]},
    },
}


def run(clip: dict[str, Any], motion: bool) -> dict[str, Any]:
    from edge.config import EdgeConfig
    from edge.transport.sinks import MemorySink
    from edge.worker import EdgeWorker, ProcessedFrame

    config = EdgeConfig.model_validate(
        {
            "store_id": "bench",
            "cameras": [
                {
                    "id": "camera",
                    "source": {"uri": str(clip["video"]), "fps": clip["fps"]},
                    "lines": [{"id": "door", **clip["door"]}],
                }
            ],
            "detector": {"regions": {"enabled": True}, "motion": {"enabled": motion}},
        }
    )
    worker = EdgeWorker(config, MemorySink())
    ran: list[bool] = []

    def record(processed: ProcessedFrame) -> None:
        ran.append(worker.motion.last_decisions[0])

    worker.on_frame = record
    started = time.perf_counter()
    worker.run()
    seconds = time.perf_counter() - started
    totals = worker.cameras[0].counter.totals["door"]
    plan = worker.regions.plans()["camera"]
    return {
        "ran": ran,
        "seconds": seconds,
        "in": totals.entries,
        "out": totals.exits,
        "regions": [[r.left, r.top, r.right, r.bottom] for r in plan.regions],
    }


def waits(
    truth: Path, ran: list[bool], regions: list[list[int]], moved_px: float
) -> dict[str, Any]:
    """Frames each person walking into a region waited for the detector, and stale frames."""
    from edge.audit import load_mot

    def inside(x: float, y: float) -> bool:
        return not regions or any(
            left <= x < right and top <= y <= bottom for left, top, right, bottom in regions
        )

    tracks: dict[int, dict[int, tuple[float, float]]] = {}
    for box in load_mot(truth):
        x1, _, x2, y2 = box.box
        if box.frame <= len(ran):
            tracks.setdefault(box.track_id, {})[box.frame] = ((x1 + x2) / 2, y2)
    last_run = [0] * (len(ran) + 1)
    for frame in range(1, len(ran) + 1):
        last_run[frame] = frame if ran[frame - 1] else last_run[frame - 1]
    walk_in_waits = []
    stale = 0
    for positions in tracks.values():
        frames_inside = [frame for frame in sorted(positions) if inside(*positions[frame])]
        if frames_inside:
            first = frames_inside[0]
            wait = next(
                (frame - first for frame in range(first, len(ran) + 1) if ran[frame - 1]), None
            )
            walk_in_waits.append(wait if wait is not None else len(ran))
        for frame in frames_inside:
            reference = positions.get(last_run[frame])
            if reference is None:
                continue
            x, y = positions[frame]
            if ((x - reference[0]) ** 2 + (y - reference[1]) ** 2) ** 0.5 > moved_px:
                stale += 1
    return {
        "people_walking_in": len(walk_in_waits),
        "waited_frames_max": max(walk_in_waits, default=0),
        "people_who_waited": sum(1 for wait in walk_in_waits if wait > 0),
        "stale_person_frames": stale,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--moved-px", type=float, default=5.0)
    parser.add_argument("--clip", action="append", choices=sorted(CLIPS), help="default: all")
    arguments = parser.parse_args()
    rows = []
    for name, clip in CLIPS.items():
        if arguments.clip and name not in arguments.clip:
            continue
        without = run(clip, motion=False)
        gated = run(clip, motion=True)
        measured = waits(clip["truth"], gated["ran"], gated["regions"], arguments.moved_px)
        row = {
            "clip": name,
            "frames": len(gated["ran"]),
            "duty_cycle": round(sum(gated["ran"]) / len(gated["ran"]), 3),
            "door_without_gating": [without["in"], without["out"]],
            "door_with_gating": [gated["in"], gated["out"]],
            **measured,
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(
        "| clip | frames | detector duty cycle | people walking in | waited (max frames) "
        "| stale person-frames | door in/out without gating | with gating |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['clip']} | {row['frames']} | {100 * row['duty_cycle']:.1f}% | "
            f"{row['people_walking_in']} | {row['people_who_waited']} "
            f"({row['waited_frames_max']}) | {row['stale_person_frames']} | "
            f"{row['door_without_gating'][0]} / {row['door_without_gating'][1]} | "
            f"{row['door_with_gating'][0]} / {row['door_with_gating'][1]} |"
        )


if __name__ == "__main__":
    main()
