"""replay, audit and preview through the real CLI, on the first frames of the PETS clip with
the real detector (imgsz 640 and a short clip keep it to seconds)."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from footfall.cli import app

FRAMES = 16


@pytest.fixture(scope="module")
def clip(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 16 frames of the clip as a folder of images with a seqinfo.ini (MOT layout)."""
    folder = tmp_path_factory.mktemp("pets16")
    (folder / "img1").mkdir()
    capture = cv2.VideoCapture(str(footage / "vtest.avi"))
    for index in range(1, FRAMES + 1):
        ok, image = capture.read()
        assert ok
        cv2.imwrite(str(folder / "img1" / f"{index:06d}.jpg"), image)
    capture.release()
    (folder / "seqinfo.ini").write_text("[Sequence]\nframeRate=7\n")
    return folder


@pytest.fixture(scope="module")
def fast_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "edge.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "store_id": "s1",
                "cameras": [
                    {
                        "id": "cam",
                        # A fixed start on a minute boundary: from the wall clock, the 2.3 s
                        # clip fell across a minute about one run in 26 (two intervals).
                        "source": {"uri": "unused", "start_time_utc": "2024-05-01T09:00:00Z"},
                        "lines": [
                            {"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}
                        ],
                        "zones": [
                            {"id": "left", "polygon": [[0, 0], [384, 0], [384, 576], [0, 576]]}
                        ],
                    }
                ],
                "detector": {"imgsz": 640},
            }
        )
    )
    return path


def test_replay_report_and_per_frame_csv(clip: Path, fast_config: Path, tmp_path: Path) -> None:
    report, per_frame = tmp_path / "report.json", tmp_path / "counts.csv"
    result = CliRunner().invoke(
        app,
        [
            "edge",
            "replay",
            str(clip),
            "--config",
            str(fast_config),
            "--line",
            "top=0,200,768,200@384,400",
            "--report",
            str(report),
            "--per-frame",
            str(per_frame),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())
    assert summary["frames"] == FRAMES
    assert summary["seconds"] > 0
    assert summary["fps"] == pytest.approx(FRAMES / summary["seconds"], rel=0.01)
    assert set(summary["lines"]) == {"door", "top"}
    assert all(set(counts) == {"in", "out"} for counts in summary["lines"].values())
    rows = list(csv.DictReader(per_frame.open()))
    assert [int(row["frame"]) for row in rows] == list(range(1, FRAMES + 1))
    assert set(rows[0]) == {"frame", "people", "tracked", "left"}
    assert all(int(row["left"]) <= int(row["people"]) for row in rows)
    assert sum(int(row["people"]) for row in rows) > 0  # the model sees people at 640 too
    assert summary["zones"]["left"]["max"] == max(int(row["left"]) for row in rows)
    # one interval (the clip is 2.3 s long) holding the same counts
    (interval,) = summary["intervals"]
    assert interval["frames"] == FRAMES
    assert interval["lines"]["door"] == {
        "entries": summary["lines"]["door"]["in"],
        "exits": summary["lines"]["door"]["out"],
        "role": "entrance",  # schema version 2: every line carries its role
    }


def test_replay_without_config_or_lines_counts_people(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edge.recording_cli.PROGRESS_LINE_SECONDS", 0.0)
    per_frame = tmp_path / "counts.csv"
    result = CliRunner().invoke(app, ["edge", "replay", str(clip), "--per-frame", str(per_frame)])
    assert result.exit_code == 0, result.output
    # piped (no terminal): progress lines instead of a bar, so a long replay is never silent
    assert f"counting: {FRAMES}/{FRAMES} frames" in result.output
    rows = list(csv.DictReader(per_frame.open()))
    assert len(rows) == FRAMES
    assert sum(int(row["people"]) for row in rows) > 3 * FRAMES  # default imgsz 1280 sees most


def test_audit_against_ground_truth(
    clip: Path, fast_config: Path, footage: Path, tmp_path: Path
) -> None:
    truth = tmp_path / "gt.txt"
    rows = [
        line
        for line in (footage / "gt" / "gt.txt").read_text().splitlines()
        if int(line.split(",")[0]) <= FRAMES
    ]
    truth.write_text("\n".join(rows) + "\n")
    report = tmp_path / "audit.json"
    result = CliRunner().invoke(
        app,
        [
            "edge",
            "audit",
            str(clip),
            "--config",
            str(fast_config),
            "--truth",
            str(truth),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    audit = json.loads(report.read_text())
    assert audit["frames"] == FRAMES
    true_mean = len(rows) / FRAMES
    assert audit["true_people_mean"] == pytest.approx(true_mean, abs=1e-3)
    assert 0 <= audit["people_mae"] <= true_mean
    directions = {(row["line"], row["direction"]) for row in audit["lines"]}
    assert directions == {("door", "in"), ("door", "out")}
    assert "accuracy %" in result.output
    # every true and every counted crossing is listed once, matched, missed or extra
    outcomes = [row["outcome"] for row in audit["crossings"]]
    assert set(outcomes) <= {"matched", "missed", "extra"}
    for row in audit["lines"]:
        listed = [
            c
            for c in audit["crossings"]
            if (c["line"], c["direction"]) == (row["line"], row["direction"])
        ]
        assert sum(c["true_frame"] is not None for c in listed) == row["true"]
        assert sum(c["counted_frame"] is not None for c in listed) == row["counted"]
    assert "matched" in result.output
    missing = CliRunner().invoke(
        app, ["edge", "audit", str(clip), "--truth", str(tmp_path / "no.txt")]
    )
    assert missing.exit_code == 2
    assert "cannot read ground truth" in missing.output


def test_audit_against_a_tally(clip: Path, fast_config: Path, tmp_path: Path) -> None:
    """A person's tally (0.4 s door in, 1.0 s door out) at 7 fps: frames 4 and 8."""
    tally = tmp_path / "tally.csv"
    tally.write_text("time_seconds,line,direction\n0.4,door,in\n1.0,door,out\n")
    report, page = tmp_path / "audit.json", tmp_path / "audit.html"
    arguments = ["edge", "audit", str(clip), "--config", str(fast_config), "--truth", str(tally)]
    result = CliRunner().invoke(app, [*arguments, "--report", str(report), "--html", str(page)])
    assert result.exit_code == 0, result.output
    audit = json.loads(report.read_text())
    assert audit["frames"] == FRAMES
    assert audit["people_mae"] is None  # a tally has no people per frame
    assert "people per frame" not in result.output
    assert {(row["direction"], row["true"]) for row in audit["lines"]} == {("in", 1), ("out", 1)}
    true_rows = [row for row in audit["crossings"] if row["true_frame"] is not None]
    assert [(row["true_frame"], row["direction"]) for row in true_rows] == [(4, "in"), (8, "out")]
    assert [row["seconds"] for row in true_rows] == [pytest.approx(3 / 7, abs=0.01), 1.0]
    counted = sum(row["counted_frame"] is not None for row in audit["crossings"])
    assert counted == sum(row["counted"] for row in audit["lines"])
    assert "within 2 s" in result.output
    # the HTML report: self-contained, one strip per listed crossing, 320×240 thumbnails
    html = page.read_text()
    assert not re.search(r"https?:", html, re.IGNORECASE)
    strips = re.findall(r'<section class="strip (\w+)".*?</section>', html, re.DOTALL)
    assert strips == [row["outcome"] for row in audit["crossings"]]
    pictures = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)
    assert 2 * len(strips) <= len(pictures) <= 5 * len(strips)
    for picture in pictures:
        image = cv2.imdecode(np.frombuffer(base64.b64decode(picture), np.uint8), 1)
        assert image.shape == (240, 320, 3)  # 768×576 scaled to 320 wide
    tally.write_text("time_seconds,line,direction\n0.4,door,in\n1.0,back,out\n")
    bad = CliRunner().invoke(app, arguments)
    assert bad.exit_code == 2
    assert "tally.csv:3: unknown line 'back'" in bad.output


def test_preview_draws_lines_zones_and_people(
    clip: Path, fast_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "preview.jpg"
    result = CliRunner().invoke(
        app, ["edge", "preview", str(clip), "--config", str(fast_config), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    drawn = cv2.imread(str(out))
    original = cv2.imread(str(clip / "img1" / "000001.jpg"))
    assert drawn.shape == original.shape
    # the counting line x=384 is drawn in the line colour (BGR 0,200,255)
    column = drawn[300:500, 384].astype(int)
    assert np.mean(np.abs(column - np.array([0, 200, 255])).sum(axis=1) < 90) > 0.8
    assert np.abs(drawn.astype(int) - original.astype(int)).mean() > 2  # overlay present
    assert "people detected" in result.output
