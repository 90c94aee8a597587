"""The channel table: rows parse keys by their kind and project messages to their fields, and every
built-in row is documented in docs/asyncapi.yaml exactly as the gateway serves it."""

from pathlib import Path

import pytest
import yaml

from gateway.channels import CHANNELS, BadKeyError, Channel

ASYNCAPI = yaml.safe_load((Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml").read_text())


def test_keys_are_parsed_by_their_kind():
    ticker = next(c for c in CHANNELS if c.name == "ticker")
    assert [ticker.parse_key(s) for s in ("btc", "BTCUSDT", "eth-usdt")] == ["BTC/USDT", "BTC/USDT", "ETH/USDT"]
    assert ticker.subject_for("BTC/USDT") == "market.ticker.*.BTC-USDT"
    chain = Channel(name="c", subject="x.{key}", key="chain", fields=("a",))
    assert chain.parse_key(" Ethereum ") == "ethereum" and chain.keys_field == "chains"
    unkeyed = Channel(name="n", subject="x.all", key="none", fields=("a",))
    assert unkeyed.parse_key(None) is None and unkeyed.subject_for(None) == "x.all"
    for bad in ("../x", "no such!", 3):
        with pytest.raises(BadKeyError):
            chain.parse_key(bad)
    with pytest.raises(BadKeyError):
        ticker.parse_key("NOT/A/PAIR")


def test_a_message_is_projected_to_the_rows_fields():
    row = Channel(name="c", subject="x.{key}", key="chain", fields=("chain", "seq"))
    assert row.project({"chain": "bitcoin", "seq": 3, "internal": 1}) == {"channel": "c", "data": {
        "chain": "bitcoin", "seq": 3}}


def test_a_wrapped_message_type_keeps_its_own_data():
    row = next(c for c in CHANNELS if c.name == "signals")
    message = {"schema": 1, "type": "AISignalReceived", "seq": 9, "data": {"symbol": "BTC/USDT", "signal": "long"},
               "timestamp": "2026-12-01T00:00:00+00:00", "producer": "a"}
    assert row.project(message) == {"channel": "signals", "type": "AISignalReceived", "timestamp": message["timestamp"],
                                    "data": {"symbol": "BTC/USDT", "signal": "long", "seq": 9}}
    assert set(row.project({"type": "signal", "id": "x", "seq": 1})["data"]) == set(row.fields)


@pytest.mark.parametrize("row", CHANNELS, ids=[c.name for c in CHANNELS])
def test_every_row_is_documented_as_served(row: Channel):
    addresses = {c["address"].replace("{exchange}", "*").replace("{pair}", "{key}").replace("{chain}", "{key}")
                 for c in ASYNCAPI["channels"].values()}
    assert row.subject in addresses, f"docs/asyncapi.yaml has no NATS channel at {row.subject}"
    updates = [m["payload"] for m in ASYNCAPI["components"]["messages"].values()
               if m.get("payload", {}).get("properties", {}).get("channel", {}).get("const") == row.name]
    assert updates, f"docs/asyncapi.yaml documents no update message of channel {row.name}"
    assert list(updates[0]["properties"]["data"]["properties"]) == list(row.fields)
    subscribe = ASYNCAPI["components"]["messages"]["Subscribe"]["payload"]["properties"]["channel"]["enum"]
    assert row.name in subscribe
