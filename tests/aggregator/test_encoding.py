"""The hot-path encoders produce exactly the generic encoding of the schema's points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.storage.encoding import IntervalEncoder, PointEncoder
from aggregator.storage.line_protocol import encode_points
from aggregator.storage.points import interval_points
from protocol.messages import (
    CountInterval,
    DwellCounts,
    LineCount,
    LineRole,
    ZoneOccupancy,
    ZoneRole,
)

names = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="/#+" + "".join(chr(code) for code in range(32)),
    ),
    min_size=1,
    max_size=12,
).filter(lambda text: not text.endswith("\\"))


@st.composite
def intervals(draw: st.DrawFn) -> CountInterval:
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=draw(st.integers(0, 10**14)))
    length_microseconds = draw(st.integers(1, 10**10))
    length = timedelta(microseconds=length_microseconds)
    merged_count = draw(st.integers(0, 3))
    merged = [
        start + timedelta(microseconds=length_microseconds * part // (merged_count + 1))
        for part in range(merged_count + 1)
    ]
    zone_max = draw(st.integers(0, 50))
    version = draw(st.sampled_from([1, 2]))
    counts = st.integers(0, 1_000_000)
    line_roles = st.none() if version == 1 else st.sampled_from(LineRole)
    zone_roles = st.none() if version == 1 else st.sampled_from(ZoneRole)
    dwell = (
        st.none()
        if version == 1
        else st.builds(
            DwellCounts,
            under_30_seconds=counts,
            from_30_to_120_seconds=counts,
            from_120_to_600_seconds=counts,
            over_600_seconds=counts,
        )
    )
    return CountInterval(
        schema_version=version,
        store_id=draw(names),
        camera_id=draw(names),
        sequence=draw(st.integers(0, 2**62)),
        interval_start_utc=start,
        interval_end_utc=start + length,
        frames=draw(st.integers(0, 10_000_000)),
        lines=draw(
            st.dictionaries(
                names,
                st.builds(
                    LineCount,
                    entries=st.integers(0, 1_000_000),
                    exits=st.integers(0, 1_000_000),
                    role=line_roles,
                ),
                max_size=3,
            )
        ),
        zones=draw(
            st.dictionaries(
                names,
                st.builds(
                    ZoneOccupancy,
                    mean=st.floats(0, zone_max, allow_nan=False),
                    max=st.just(zone_max),
                    role=zone_roles,
                    dwell=dwell,
                ),
                max_size=2,
            )
        ),
        software_version=draw(st.text(min_size=1, max_size=20)),
        config_fingerprint="0123abcd",
        merged_starts_utc=merged if merged_count else [],
    )


@settings(max_examples=400, deadline=None)
@given(message=intervals(), entrances=st.none() | st.sets(names, max_size=2))
def test_interval_encoder_equals_the_generic_encoding(
    message: CountInterval, entrances: set[str] | None
) -> None:
    if entrances is not None and message.lines and entrances:
        entrances = entrances | {next(iter(message.lines))}
    points = interval_points(message, entrances)
    expected = encode_points(points).decode()
    assert "\n".join(IntervalEncoder().encode(message, entrances)) + "\n" == expected
    assert "\n".join(PointEncoder().encode_all(points)) + "\n" == expected


def test_interval_encoder_reuses_escaped_series() -> None:
    encoder = IntervalEncoder()
    message = CountInterval(
        store_id="store 1",
        camera_id="door, north",
        sequence=1,
        interval_start_utc=datetime(2024, 1, 1, tzinfo=UTC),
        interval_end_utc=datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
        frames=600,
        lines={"in=out": LineCount(entries=2, exits=1)},
        software_version='v "1"',
        config_fingerprint="0123abcd",
    )
    first = encoder.encode(message, None)
    assert first == [
        r"line_counts,camera=door\,\ north,entrance=true,line=in\=out,store=store\ 1 "
        "entries=2i,exits=1i,interval_seconds=60.0 1704067200000000000",
        r"camera_intervals,camera=door\,\ north,store=store\ 1 frames=600i,sequence=1i,"
        r'interval_seconds=60.0,software_version="v \"1\"",config_fingerprint="0123abcd" '
        "1704067200000000000",
    ]
    assert encoder.encode(message, None) == first
