"""Policy endpoints against the real InfluxDB: reads are open, writes need the bearer token,
and what is written is the registry's point at the store-local midnight."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aggregator.api.app import create_app
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from tests.aggregator.api.conftest import WRITE_TOKEN

SUMMER_POLICY = {
    "name": "late-opening",
    "stores": ["shop-1", "shop-2"],
    "effective_date": "2026-07-01",
    "description": "open at 10:00",
}
AUTHORISED = {"Authorization": f"Bearer {WRITE_TOKEN}"}


@pytest.fixture
def client(api_config: AggregatorConfig, influx: InfluxClient) -> Iterator[TestClient]:
    with TestClient(create_app(api_config)) as test_client:
        yield test_client


def test_read_only_by_default(api_config: AggregatorConfig, influx: InfluxClient) -> None:
    read_only = api_config.model_copy(
        update={"api": api_config.api.model_copy(update={"write_token": None})}
    )
    with TestClient(create_app(read_only)) as client:
        assert client.get("/policies").json() == []
        refused = client.post("/policies", json=SUMMER_POLICY, headers=AUTHORISED)
        assert refused.status_code == 403
        assert "read-only" in refused.json()["detail"]
        assert client.delete("/policies/late-opening", headers=AUTHORISED).status_code == 403
    assert influx.query('SELECT * FROM "policy_changes"') == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Bearer {WRITE_TOKEN}x"},
        {"Authorization": f"Basic {WRITE_TOKEN}"},
        {"Authorization": WRITE_TOKEN},
    ],
)
def test_writes_without_the_token_are_401(
    client: TestClient, influx: InfluxClient, headers: dict[str, str]
) -> None:
    response = client.post("/policies", json=SUMMER_POLICY, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.delete("/policies/late-opening", headers=headers).status_code == 401
    assert influx.query('SELECT * FROM "policy_changes"') == []


def test_add_list_and_remove_with_the_token(client: TestClient, influx: InfluxClient) -> None:
    added = client.post("/policies", json=SUMMER_POLICY, headers=AUTHORISED)
    assert added.status_code == 201, added.text
    assert [(entry["store"], entry["timezone"]) for entry in added.json()] == [
        ("shop-1", "UTC"),
        ("shop-2", "Europe/London"),
    ]
    (series,) = influx.query('SELECT * FROM "policy_changes" WHERE "store" = \'shop-2\'')
    (row,) = series.rows()
    assert row["time"] == "2026-06-30T23:00:00Z"  # London midnight in summer time
    assert (row["policy"], row["removed"]) == ("late-opening", False)

    listed = client.get("/policies", params={"store": "shop-2"}).json()
    assert [(entry["policy"], entry["effective_date"]) for entry in listed] == [
        ("late-opening", "2026-07-01")
    ]
    again = client.post("/policies", json=SUMMER_POLICY, headers=AUTHORISED)
    assert again.status_code == 409
    assert "already covers store" in again.json()["detail"]

    removed = client.delete(
        "/policies/late-opening", params={"store": "shop-1"}, headers=AUTHORISED
    )
    assert [entry["store"] for entry in removed.json()] == ["shop-1"]
    assert [entry["store"] for entry in client.get("/policies").json()] == ["shop-2"]
    everything = client.get("/policies", params={"include_removed": True}).json()
    assert {(entry["store"], entry["removed"]) for entry in everything} == {
        ("shop-1", True),
        ("shop-2", False),
    }
    missing = client.delete("/policies/never-added", headers=AUTHORISED)
    assert missing.status_code == 404
    assert "no active policy named 'never-added'" in missing.json()["detail"]


def test_a_second_wave_on_another_date(client: TestClient) -> None:
    # a staggered roll-out: shop-2 adopts the policy two months after shop-1
    first = dict(SUMMER_POLICY, stores=["shop-1"])
    assert client.post("/policies", json=first, headers=AUTHORISED).status_code == 201
    second = dict(SUMMER_POLICY, stores=["shop-2"], effective_date="2026-09-01")
    added = client.post("/policies", json=second, headers=AUTHORISED)
    assert added.status_code == 201, added.text
    listed = client.get("/policies").json()
    assert sorted((entry["store"], entry["effective_date"]) for entry in listed) == [
        ("shop-1", "2026-07-01"),
        ("shop-2", "2026-09-01"),
    ]


def test_bad_policy_request_names_the_field(client: TestClient) -> None:
    bad = dict(SUMMER_POLICY, timezone="Mars/Olympus", stores=[])
    response = client.post("/policies", json=bad, headers=AUTHORISED)
    assert response.status_code == 422
    problems = {tuple(problem["loc"]): problem["msg"] for problem in response.json()["detail"]}
    assert "unknown IANA time zone 'Mars/Olympus'" in problems[("body", "timezone")]
    assert ("body", "stores") in problems


def test_unknown_store_is_422_listing_the_known_stores(
    client: TestClient, influx: InfluxClient
) -> None:
    request = dict(SUMMER_POLICY, stores=["shop-1", "dor-shop"])
    response = client.post("/policies", json=request, headers=AUTHORISED)
    assert response.status_code == 422
    assert response.json()["detail"] == ("unknown store(s) dor-shop (known stores: shop-1, shop-2)")
    assert influx.query('SELECT * FROM "policy_changes"') == []
