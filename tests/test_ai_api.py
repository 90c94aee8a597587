"""ai-svc through traefik on the sandbox: forecasts, analysis, and bad input."""

import csv
import itertools
import math
from decimal import Decimal

import httpx
import pytest

from devstack.catalogue import sandbox_url

from helpers import SANDBOX_DATA


def hourly_closes(symbol: str) -> list[float]:
    with open(SANDBOX_DATA / "history" / f"{symbol}_1h.csv") as handle:
        return [float(row["c"]) for row in csv.DictReader(handle)]


def test_predict_answers_horizon_points_whose_bounds_hold_the_median_and_widen(api):
    response = api.post("/api/ai/predict", json={"symbol": "BTC/USDT", "timeframe": "1h", "horizon": 12,
                                                  "model": "ensemble"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["symbol"] == "BTC/USDT" and body["horizon"] == 12 and body["source"] == "binance"
    points = body["predictions"]
    assert [p["step"] for p in points] == list(range(1, 13))
    assert all(p["lower_bound"] < p["price"] < p["upper_bound"] for p in points)
    widths = [p["upper_bound"] - p["lower_bound"] for p in points]
    assert all(later > earlier for earlier, later in itertools.pairwise(widths))
    assert [p["timestamp"] - body["as_of"] for p in points] == [3_600_000 * h for h in range(1, 13)]
    # The forecast starts at the newest closed candle the sandbox served: the recording's second-to-last close.
    assert body["current_price"] == hourly_closes("BTCUSDT")[-2]
    assert body["confidence"] == 0.8 and all(p["confidence"] == 0.8 for p in points)
    model = body["model"]
    assert model["method"] == "ensemble" and model["version"] and model["trained_on"]
    assert "random walk" in model["skill"]
    assert model["evaluation"]["1h"]["BTC/USDT"]["random_walk_mae_pct"] == pytest.approx(0.451, abs=0.001)


def test_each_model_answers_and_the_baseline_is_centred_on_the_current_price(api):
    answers = {m: api.post("/api/ai/predict", json={"symbol": "ETH", "horizon": 3, "model": m}).json()
               for m in ("baseline", "trained", "ensemble")}
    baseline = answers["baseline"]
    assert baseline["model"]["name"] == "random-walk" and baseline["direction"] == "neutral"
    assert all(math.isclose(p["price"], baseline["current_price"]) for p in baseline["predictions"])
    assert answers["trained"]["model"]["name"] == "dm-quantile-mlp"
    assert answers["trained"]["predictions"] != baseline["predictions"]


@pytest.fixture
def without_news(suite):
    """news-svc stopped for the test, when the suite runs one (else ai-svc runs with AI_NEWS_URL=none)."""
    running = "news" in suite.components
    if running:
        suite.stop("news")
    yield running
    if running:
        suite.start("news")


def test_analysis_parts_come_from_their_sources_and_sentiment_is_null_without_news(api, suite, without_news):
    response = api.get("/api/ai/analysis/BTC-USDT")
    assert response.status_code == 200, response.text
    analysis = response.json()["analysis"]
    assert analysis["sentiment"] is None
    expected = ("UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT") if without_news else ("SOURCE_UNSUPPORTED",)
    assert analysis["missing"]["sentiment"]["code"] in expected and analysis["missing"]["sentiment"]["message"]
    technical = analysis["technical"]
    assert technical["source"] == "binance" and technical["trend"] in ("bullish", "bearish", "neutral")
    assert technical["price"] == hourly_closes("BTCUSDT")[-2]
    assert all(level < technical["price"] for level in technical["support_levels"])
    assert all(level > technical["price"] for level in technical["resistance_levels"])
    assert analysis["prediction"]["confidence"] == 0.8
    assert set(analysis["prediction"]["horizons"]) == {"short_term", "medium_term", "long_term"}
    assert analysis["fundamental"]["market_cap_rank"] == 1
    assert analysis["fundamental"]["on_chain_metrics"] is None
    assert analysis["fundamental"]["missing"]["on_chain_metrics"]["code"] == "NOT_AVAILABLE"
    flow = analysis["order_flow"]
    # By hand on the aggTrades and book the sandbox serves for Binance (m: the buyer was the maker, so the
    # taker sold): decimal arithmetic on the wire strings.
    binance = sandbox_url(suite, "binance")
    trades = httpx.get(binance + "/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 500}).json()
    book = httpx.get(binance + "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 20}).json()
    assert flow["trades"] == len(trades) and flow["sources"]["trades"] == "binance"
    delta = sum(-Decimal(t["q"]) if t["m"] else Decimal(t["q"]) for t in trades)
    notional = sum(Decimal(t["p"]) * Decimal(t["q"]) for t in trades)
    assert flow["cvd"] == pytest.approx(float(delta), abs=1e-9)
    assert flow["vwap"] == pytest.approx(float(notional / sum(Decimal(t["q"]) for t in trades)), rel=1e-12)
    bids, asks = (sum(Decimal(q) for _, q in book[side][:10]) for side in ("bids", "asks"))
    assert flow["ofi"] == pytest.approx(float((bids - asks) / (bids + asks)), rel=1e-9)
    funding = api.get("/api/derivatives/funding/BTC-USDT").json()
    assert flow["funding_rate"] == funding["funding_rate"]


def test_an_analysis_served_from_the_gateway_cache_keeps_its_documented_shape(api):
    first = api.get("/api/ai/analysis/ETH")
    again = api.get("/api/ai/analysis/ETH")  # the contract client checks both against the document
    assert first.status_code == again.status_code == 200
    assert again.headers["x-cache"] == "HIT" and again.json()["provenance"]["cached"]


BAD_BODIES = [
    ({"symbol": "NOPE/USDT", "horizon": 3}, 404, "INVALID_SYMBOL"),
    ({"symbol": "BTC/USDT", "horizon": 0}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC/USDT", "horizon": 25}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC/USDT", "horizon": -3}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC/USDT", "horizon": "many"}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC/USDT", "timeframe": "7m"}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC/USDT", "timeframe": "4h"}, 422, "VALIDATION_ERROR"),
    ({"symbol": "BTC/USDT", "model": "lstm"}, 422, "VALIDATION_ERROR"),
    ({"symbol": "", "horizon": 3}, 422, "VALIDATION_ERROR"),
    ({"symbol": "../../etc/passwd"}, 404, "INVALID_SYMBOL"),
    ({"horizon": 3}, 422, "VALIDATION_ERROR"),
    ({"symbol": ["BTC"]}, 422, "VALIDATION_ERROR"),
    ([1, 2, 3], 422, "VALIDATION_ERROR"),
    ("just a string", 422, "VALIDATION_ERROR"),
    (None, 422, "VALIDATION_ERROR"),
]


@pytest.mark.parametrize("body, status, code", BAD_BODIES, ids=[str(b[0])[:40] for b in BAD_BODIES])
def test_bad_predict_bodies_are_4xx_envelopes(api, body, status, code):
    response = api.post("/api/ai/predict", json=body)
    assert response.status_code == status, response.text
    assert response.json()["success"] is False and response.json()["error"]["code"] == code


JUNK = [(b"{not json", "application/json", 422, "VALIDATION_ERROR"),
        # Not UTF-8 at all: FastAPI cannot decode it; the shared handler names its status.
        (b"\xff\xfe\x00", "application/json", 400, "HTTP_400"),
        (b"symbol=BTC", "application/x-www-form-urlencoded", 422, "VALIDATION_ERROR"),
        (b"", None, 422, "VALIDATION_ERROR")]


@pytest.mark.parametrize("raw, content_type, status, code", JUNK, ids=[str(j[0]) for j in JUNK])
def test_junk_bodies_are_4xx_envelopes(api, raw, content_type, status, code):
    headers = {"content-type": content_type} if content_type else {}
    response = api.post("/api/ai/predict", content=raw, headers=headers)
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_oversize_bodies_are_refused_with_413(api):
    big = {"symbol": "BTC/USDT", "pad": "x" * 70_000}
    response = api.post("/api/ai/predict", json=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    under_gateway_cap = {"symbol": "BTC/USDT", "pad": "x" * 20_000}  # ai-svc's own cap is 16 KiB
    response = api.post("/api/ai/predict", json=under_gateway_cap)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_wrong_methods_and_bad_queries_are_4xx(api):
    assert api.get("/api/ai/predict").status_code == 405
    assert api.post("/api/ai/signals", json={}).status_code == 405
    for params in ({"limit": 0}, {"limit": 101}, {"min_confidence": 2}, {"timeframe": "7m"}, {"symbol": "NOPE"}):
        response = api.get("/api/ai/signals", params=params)
        assert 400 <= response.status_code < 500 and response.json()["success"] is False, params
    assert api.get("/api/ai/analysis/NOPE").status_code == 404
    assert api.get("/api/ai/analysis/" + "A" * 200).status_code in (404, 422)
