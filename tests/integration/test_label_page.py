"""``footfall edge label`` as a person uses it: the command in its own process, its page in
Chromium (Playwright, the fixture of the entrance-display tests), keys pressed as a person
would. On a synthetic 30-frame clip at 10 fps whose frames show their number, so no footage
is needed: the tally on disk after every key press, frames out of range answered 404, a
restart that continues the same tally, and a tally ``footfall edge audit`` reads as truth."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.counting.counters import Direction
from edge.tally import TallyCrossing, load_tally, tally_events
from footfall.cli import app
from tests.edge.label_support import DOOR, jpeg_frame_number, write_numbered_clip
from tests.integration.test_entrance_display import browser

pytestmark = pytest.mark.integration
__all__ = ["browser"]  # a fixture, used by name

FOOTFALL = Path(sys.executable).with_name("footfall")
SIDE = "side=0,200,320,200@160,100"
HEADER = "time_seconds,line,direction"
WAIT_MS = 10_000


class Labeller:
    """``footfall edge label`` in its own process on a free port."""

    def __init__(self, clip: Path, output: Path, lines: list[str]) -> None:
        words = [str(FOOTFALL), "edge", "label", str(clip), "--output", str(output)]
        for line in lines:
            words += ["--line", line]
        self.process = subprocess.Popen(
            [*words, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines_out: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: [lines_out.put(x) for x in stdout], daemon=True).start()
        try:
            first = lines_out.get(timeout=30)
        except queue.Empty:
            self.process.kill()
            pytest.fail(f"no URL from footfall edge label: {self.process.communicate()}")
        match = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert match, first
        self.url = match[0]

    def stop(self) -> str:
        """Ctrl-C; what it printed on standard error."""
        self.process.send_signal(signal.SIGINT)
        _, errors = self.process.communicate(timeout=20)
        assert self.process.returncode == 0, errors
        return errors


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines()


def wait_body(page: Any, **attributes: object) -> None:
    selector = "".join(f'[data-{key}="{value}"]' for key, value in attributes.items())
    page.wait_for_selector(f"body{selector}", state="attached", timeout=WAIT_MS)


def press(page: Any, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def test_label_a_clip_with_keys(browser: Any, tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=30, fps=10)
    tally = tmp_path / "tally.csv"
    labeller = Labeller(clip, tally, [DOOR])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        assert rows(tally) == [HEADER]  # written before the first key press
        page.goto(labeller.url)
        wait_body(page, shown=1, version=0)
        assert page.inner_text("#frame-count") == "30"

        press(page, "ArrowRight", 5)
        wait_body(page, shown=6)
        assert (page.inner_text("#frame-number"), page.inner_text("#frame-time")) == ("6", "0.500")
        press(page, "i")
        wait_body(page, version=1)
        assert rows(tally) == [HEADER, "0.5,door,in"]
        press(page, "ArrowRight", 3)
        wait_body(page, shown=9)
        press(page, "o")
        press(page, "u")
        press(page, "o")
        wait_body(page, version=4, crossings=2)
        assert rows(tally) == [HEADER, "0.5,door,in", "0.8,door,out"]
        assert load_tally(tally, ["door"]) == [
            TallyCrossing(0.5, "door", Direction.ENTRY),
            TallyCrossing(0.8, "door", Direction.EXIT),
        ]
        assert [event.frame for event in tally_events(load_tally(tally, ["door"]), 10.0)] == [
            6,
            9,
        ]
        listed = page.locator("#crossings li").all_inner_texts()
        assert [re.sub(r"\s+", " ", text.replace("×", "")).strip() for text in listed] == [
            "0.500 s · frame 6 · door in",
            "0.800 s · frame 9 · door out",
        ]

        # the image shown is the frame the readout names
        shown_src = page.get_attribute("#frame", "src")
        assert shown_src is not None
        assert shown_src.startswith("frame/9.jpg")
        assert jpeg_frame_number(page.request.get(labeller.url + "frame/9.jpg").body()) == 9
        assert page.evaluate("document.getElementById('frame').naturalWidth") == 320

        press(page, "Shift+ArrowRight")
        wait_body(page, shown=19)
        press(page, "End")
        wait_body(page, shown=30)
        press(page, "ArrowRight")  # past the end: stays
        press(page, "Shift+ArrowLeft")
        wait_body(page, shown=20)
        press(page, "Home")
        wait_body(page, shown=1)
        page.click("#crossings li >> nth=1")  # a crossing in the list: go to it
        wait_body(page, shown=9)
        assert page.inner_text("#frame-number") == "9"

        press(page, "Home")
        press(page, " ")  # plays at 10 fps
        wait_body(page, playing="true")
        time.sleep(0.8)
        press(page, " ")
        wait_body(page, playing="false")
        stopped_at = int(page.get_attribute("body", "data-frame") or 0)
        assert 3 <= stopped_at <= 20, stopped_at
        time.sleep(0.3)
        assert int(page.get_attribute("body", "data-frame") or 0) == stopped_at

        missing = page.request.get(labeller.url + "frame/31.jpg")
        assert missing.status == 404
        assert "no frame 31: the clip has frames 1 to 30" in missing.text()
        assert page.request.get(labeller.url + "frame/0.jpg").status == 404
        assert page.request.get(labeller.url + "frame/30.jpg").status == 200  # still serving
        assert requested, "the page made no requests"
        assert all(url.startswith(labeller.url) for url in requested), requested
        page.screenshot(path=tmp_path / "label.png")
    finally:
        page.close()
        errors = labeller.stop()
    assert "wrote" in errors
    assert "2 crossings (door 1 in, 1 out)" in errors
    assert rows(tally) == [HEADER, "0.5,door,in", "0.8,door,out"]
    assert (tmp_path / "label.png").stat().st_size > 10_000
    # the audit takes it as truth, at the frames labelled (nobody walks in this clip)
    audit = CliRunner().invoke(
        app, ["edge", "audit", str(clip), "--line", DOOR, "--truth", str(tally), "--json"]
    )
    assert audit.exit_code == 0, audit.output
    crossings = json.loads(audit.stdout)["crossings"]
    assert [(row["seconds"], row["true_frame"], row["direction"]) for row in crossings] == [
        (0.5, 6, "in"),
        (0.8, 9, "out"),
    ]


def test_a_restart_continues_the_tally(browser: Any, tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=30, fps=10)
    tally = tmp_path / "tally.csv"
    first = Labeller(clip, tally, [DOOR])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(first.url)
        wait_body(page, shown=1)
        press(page, "ArrowRight", 5)
        wait_body(page, shown=6)
        press(page, "i")
        wait_body(page, version=1)
    finally:
        page.close()
    first.process.kill()  # no clean stop: the file must already hold everything
    first.process.wait(timeout=10)
    assert rows(tally) == [HEADER, "0.5,door,in"]

    second = Labeller(clip, tally, [DOOR, SIDE])  # a line added for the second sitting
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(second.url)
        wait_body(page, shown=1, crossings=1)
        assert page.locator("#crossings li").count() == 1
        assert "loaded" in page.inner_text("#status")
        press(page, "2")  # the second line
        press(page, "Shift+ArrowRight", 2)
        wait_body(page, shown=21)
        press(page, "o")
        wait_body(page, version=1, crossings=2)
        assert rows(tally) == [HEADER, "0.5,door,in", "2,side,out"]
        page.click("#crossings li >> nth=0 >> button")  # delete the first sitting's crossing
        wait_body(page, version=2, crossings=1)
        assert rows(tally) == [HEADER, "2,side,out"]
        page.reload()  # the browser restarting: the list comes from the server
        wait_body(page, crossings=1)
        assert page.inner_text("#frame-number") == "21"  # the place is in the address
    finally:
        page.close()
        second.stop()
    assert load_tally(tally, ["door", "side"]) == [TallyCrossing(2.0, "side", Direction.EXIT)]
