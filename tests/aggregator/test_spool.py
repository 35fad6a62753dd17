"""The on-disk spool: complete segments only, oldest first, numbering survives reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.ingest.spool import Spool, SpoolError


def test_segments_come_back_oldest_first_and_survive_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for body in [b"a 1\n", b"b 2\n", b"c 3\n"]:
        spool.append(body)
    oldest = spool.oldest()
    assert oldest is not None
    assert oldest.read() == b"a 1\n"
    spool.remove(oldest)

    reopened = Spool(tmp_path)
    assert len(reopened) == 2
    assert reopened.pending_bytes == 8
    reopened.append(b"d 4\n")
    names = sorted(path.name for path in tmp_path.glob("*.lp"))
    assert names == [f"{number:020d}.lp" for number in (1, 2, 3)]


def test_an_incomplete_segment_from_a_crash_is_discarded(tmp_path: Path) -> None:
    Spool(tmp_path).append(b"kept\n")
    (tmp_path / f"{1:020d}.lp.tmp").write_bytes(b"half a bat")  # never acknowledged
    spool = Spool(tmp_path)
    assert len(spool) == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_rejected_batches_are_kept_with_their_reason(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    segment = spool.append(b"bad 1\n")
    kept = spool.reject(segment, "field type conflict")
    direct = spool.reject(b"worse 2\n", "unparsable")
    assert len(spool) == 0
    assert kept.read_bytes() == b"bad 1\n"
    assert kept.with_suffix(".error").read_text() == "field type conflict"
    assert direct.read_bytes() == b"worse 2\n"
    assert Spool(tmp_path).append(b"next\n").sequence == 2  # numbers are never reused


def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SpoolError, match="cannot create spool directory"):
        Spool(blocker / "spool")
