"""The gateway's cross-cutting surface: health, merged docs, metrics, CORS and request ids."""

import re


def test_health_reports_every_service_and_dependency(api):
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and body["success"] is True, body
    assert {"market-svc", "redis", "nats", "mongodb"} <= body["components"].keys()
    assert all(component["status"] == "healthy" for component in body["components"].values()), body
    assert body["components"]["market-svc"]["components"]["coinmarketcap"]["status"] == "skipped"


def test_openapi_merges_every_public_endpoint_with_parameters_and_schema(api):
    doc = api.get("/openapi.json").json()
    market = doc["paths"]["/api/market"]["get"]
    assert {p["name"] for p in market["parameters"]} == {"limit", "sort", "currency", "category", "symbols",
                                                       "symbol", "ids"}
    ohlcv = doc["paths"]["/api/ohlcv"]["get"]
    assert {p["name"] for p in ohlcv["parameters"]} == {"symbol", "timeframe", "limit", "since", "until"}
    ref = ohlcv["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"]
    assert "/health" in doc["paths"]
    price = doc["paths"]["/api/price/{symbol}"]["get"]
    assert {p["name"] for p in price["parameters"]} == {"symbol", "convert", "include_24h"}
    for path in ("/api/ticker/{symbol}", "/api/orderbook/{symbol}", "/api/trades/{symbol}", "/api/exchange-info",
                 "/api/stats", "/api/stats/dominance", "/api/history/price/{symbol}",
                 "/api/derivatives/funding/{symbol}", "/api/derivatives/open-interest/{symbol}"):
        assert "200" in doc["paths"][path]["get"]["responses"], path
    page = api.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:  # served by the suite itself: the page works with no internet access
        assert asset.startswith("/") and api.get(asset).status_code == 200, asset
    assert "SwaggerUIBundle" in api.get("/docs/assets/swagger-ui-bundle.js").text


def test_metrics_are_prometheus_text(api):
    api.get("/api/market", params={"limit": 3})
    body = api.get("/api/market", params={"limit": 3}).content  # the second is a cache hit
    text = api.get("/metrics").text
    served = [line for line in text.splitlines() if line.startswith("dm_http_requests_total{")
              and 'route="/api/market"' in line and 'status="200"' in line and 'method="GET"' in line]
    assert served and float(served[0].rsplit(" ", 1)[1]) >= 1
    assert 'dm_http_request_seconds_bucket{le="+Inf",route="/api/market"}' in text
    assert 'dm_cache_events_total{result="hit"}' in text
    gauges = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith(("dm_cache_l1_entries ", "dm_cache_l1_bytes "))}
    # the in-process tier holds that page (the stored body, before its provenance is relabelled per answer)
    assert gauges["dm_cache_l1_entries"] >= 1 and gauges["dm_cache_l1_bytes"] >= len(body) // 2


def test_cors_allows_every_origin(api):
    response = api.get("/api/market", params={"limit": 3}, headers={"Origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = api.options("/api/ohlcv", headers={"Origin": "https://app.example",
                                                   "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200


def test_request_id_is_echoed_or_made(api):
    echoed = api.get("/api/market", params={"limit": 3}, headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    assert len(api.get("/api/market", params={"limit": 3}).headers["x-request-id"]) == 32
