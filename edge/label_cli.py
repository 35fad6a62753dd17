"""``footfall edge label``: a person makes a tally of a clip, the truth ``footfall edge audit
--truth`` takes, by watching it in a local web page (``edge/label_server.py``)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from command_line.exit_codes import fail
from edge.recording_cli import LINE_HELP
from edge.vision.sources import SourceError
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from edge.label_server import LabelServer

console = Console(stderr=True, soft_wrap=True)

OUTPUT_HELP = (
    "Tally CSV (time_seconds,line,direction) written after every change; an existing one is "
    "loaded and continued"
)
HOST_HELP = (
    "Address to serve on; the default, 127.0.0.1, keeps the page (and the frames, which show "
    "people) on this device"
)


def label_command(
    clip: str = typer.Argument(..., help="Video file or folder of images"),
    output: Path = typer.Option(..., "--output", help=OUTPUT_HELP),
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help="Edge YAML config"),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    fps: float | None = typer.Option(
        None, "--fps", help="Override the source frame rate (use the audit's)"
    ),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port; 0: any free one"),
    host: str = typer.Option("127.0.0.1", "--host", help=HOST_HELP),
) -> None:
    """Make a tally by watching a clip: serves a local web page that shows the clip with its
    lines (arrow to the inside), steps frame by frame (arrows, Shift for 10, Space plays,
    Home/End) and records a crossing per key press at the frame's time (I in, O out, U
    undo, 1-9 the line), writing --output after every change. Frames never leave this
    device: the page is served on 127.0.0.1 and loads nothing from the internet. Ctrl-C
    stops."""
    from edge.adhoc import build_config
    from edge.audit import TruthError
    from edge.label_server import LabelServer, open_app
    from edge.labelling import LabelError, LabelSession
    from edge.vision.recording_reader import RecordingReader

    try:
        edge_config, camera_id = build_config(clip, config, line, camera, fps)
        lines = edge_config.camera(camera_id).lines
        if not lines:
            raise LabelError(
                "no lines to label: give --line NAME=x1,y1,x2,y2@ix,iy, or --config and "
                "--camera of a camera with lines"
            )
        if not output.parent.is_dir():
            raise LabelError(f"cannot write {output}: no folder {output.parent}")
        reader = RecordingReader(edge_config.camera(camera_id).source)
    except (ConfigError, SourceError, LabelError) as error:
        raise fail(str(error)) from None
    try:
        session = LabelSession(
            output, [each.id for each in lines], reader.frames_per_second, reader.frame_count
        )
        server = LabelServer(open_app(session, reader, lines, clip, host), host, port)
    except (TruthError, LabelError, SourceError) as error:
        reader.close()
        raise fail(str(error)) from None
    except OSError as error:  # the port is taken, or the address is not this machine's
        reader.close()
        raise fail(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
    if not output.exists():  # a new tally exists from the first moment
        try:
            session.write()
        except LabelError as error:
            server.close()
            raise fail(str(error)) from None
    loaded = f", {session.loaded} crossings loaded" if session.loaded else ""
    console.print(
        f"labelling {clip}: {reader.frame_count} frames at {reader.frames_per_second:g} fps, "
        f"lines {', '.join(each.id for each in lines)}; tally {output}{loaded}",
        highlight=False,
    )
    if not server.app.loopback_only:
        console.print(
            f"[bold yellow]warning:[/] serving on {host}: other machines can see the frames",
            highlight=False,
        )
    typer.echo(f"open {server.url} in a browser on this device; Ctrl-C stops")
    _serve_until_interrupted(server)
    if session.version or not output.exists():
        try:
            session.write()
        except LabelError as error:
            raise fail(str(error)) from None
    totals = session.to_json()["totals"]
    summary = "; ".join(
        f"{key} {value['in']} in, {value['out']} out" for key, value in totals.items()
    )
    console.print(
        f"[green]wrote[/] {output}: {len(session.crossings)} crossings ({summary})",
        highlight=False,
    )


def _serve_until_interrupted(server: LabelServer) -> None:
    """Serve until Ctrl-C (or SIGTERM, treated the same), then release the port."""

    def interrupt(signal_number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if main_thread else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
