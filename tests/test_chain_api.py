"""GET /api/blockchain/transactions and /api/blockchain/whale-alerts through traefik on the sandbox's explorers,
and whale alerts end to end: a block mined in the sandbox -> chain-svc's scan -> MongoDB, NATS, /ws, REST."""

import asyncio
import itertools
import json
from decimal import Decimal

import httpx
import nats
import orjson
import pytest
import websockets

from devstack.catalogue import sandbox_url

from helpers import recorded

ETH_ADDRESS = "0xA1E4380A3B1f749673E270229993eE55F35663b4"  # as Etherscan's checksum writes it
ETH_TXLIST = "etherscan/v2_account_txlist_chainid1_136txs.json"
POLYGON_ADDRESS = "0xc37b40ABdB939635068d3c5f13E7faF686F03B65"
TOKEN_ADDRESS = "0xb8553D9ee35dd23BB96fbd679E651B929821969B"
BTC_ADDRESS = "bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l2"
EMPTY_ADDRESS = "0x443E1f9b1c866E54e914822B7d3d7165EdB6e9Ea"  # the recorded "No transactions found" address
BINANCE_WALLET = "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"  # labelled Binance in chain_svc/data/labels.json
_limits = itertools.count(60)  # a window size per fault test, so no test is served another's cached answer


def history(api, address: str, **params) -> httpx.Response:
    return api.get(f"/api/blockchain/transactions/{address}", params=params)


def newest_first(name: str) -> list[dict]:
    """A recorded txlist as Etherscan serves it with sort=desc (the recording is ascending)."""
    return list(reversed(recorded(name)["result"]))


def assert_same_evm(item: dict, row: dict, coin: str) -> None:
    """Every field of one answered transaction against the recorded row, computed independently."""
    wei = Decimal(row["value"])
    assert item["hash"] == row["hash"] and item["block"] == int(row["blockNumber"])
    assert item["timestamp"] == int(row["timeStamp"]) * 1000
    assert item["from"] == row["from"] and item["to"] == (row["to"] or None)
    assert Decimal(item["value_exact"]) == wei / Decimal(10) ** 18 and item["value"] == float(wei / Decimal(10) ** 18)
    assert item["token"] == coin and item["kind"] == "native"
    assert item["gas_used"] == int(row["gasUsed"])
    assert item["gas_price"] == float(Decimal(row["gasPrice"]) / Decimal(10) ** 9)
    failed = row["isError"] == "1" or row["txreceipt_status"] == "0"
    assert item["status"] == ("failed" if failed else "success")


def test_an_ethereum_address_history_is_the_recorded_txlist_with_exact_values(api):
    response = history(api, ETH_ADDRESS, limit=100)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["chain"] == "ethereum" and body["source"] == "etherscan"
    assert body["address"] == ETH_ADDRESS.lower() and body["provenance"]["fallback"] is False
    rows = newest_first(ETH_TXLIST)[:100]
    assert [t["hash"] for t in body["transactions"]] == [r["hash"] for r in rows]
    for item, row in zip(body["transactions"], rows, strict=True):
        assert_same_evm(item, row, "ETH")
    failed_at = next(i for i, r in enumerate(newest_first(ETH_TXLIST)) if r["isError"] == "1")
    window = history(api, ETH_ADDRESS, limit=5, offset=failed_at).json()["transactions"]
    assert window[0]["status"] == "failed" and window[1]["status"] == "success"  # the recording's isError=1 row


@pytest.mark.parametrize("limit, offset", [(10, 0), (10, 10), (7, 3), (25, 111), (50, 130)])
def test_paging_with_limit_and_offset_matches_the_recording(api, limit, offset):
    body = history(api, ETH_ADDRESS, limit=limit, offset=offset).json()
    expected = newest_first(ETH_TXLIST)[offset:offset + limit]
    assert body["limit"] == limit and body["offset"] == offset and body["count"] == len(expected)
    assert [t["hash"] for t in body["transactions"]] == [r["hash"] for r in expected]


def test_a_polygon_address_history_is_in_pol_with_gas_in_gwei(api):
    body = history(api, POLYGON_ADDRESS, chain="polygon").json()
    row = recorded("etherscan/v2_account_txlist_chainid137_polygon_1tx.json")["result"][0]
    assert body["chain"] == "polygon" and body["count"] == 1
    assert_same_evm(body["transactions"][0], row, "POL")
    assert body["transactions"][0]["value"] == 0.0005 and body["transactions"][0]["gas_price"] == 30.0


def test_token_transfers_come_with_their_decimals_when_asked(api):
    body = history(api, TOKEN_ADDRESS, include="tokens", limit=5).json()
    rows = list(reversed(recorded("etherscan/v2_account_tokentx_chainid1_5txs.json")["result"]))
    tokens = [t for t in body["transactions"] if t["kind"] == "token"]
    assert [t["hash"] for t in tokens] == [r["hash"] for r in rows]
    for item, row in zip(tokens, rows, strict=True):
        assert item["token"] == row["tokenSymbol"] and item["token_decimals"] == int(row["tokenDecimal"])
        exact = Decimal(row["value"]) / Decimal(10) ** int(row["tokenDecimal"])
        assert Decimal(item["value_exact"]) == exact and item["token_contract"] == row["contractAddress"]
    without = history(api, TOKEN_ADDRESS, limit=5).json()
    assert all(t["kind"] == "native" for t in without["transactions"])


def test_a_bitcoin_address_history_is_in_btc_from_the_address_side(api):
    body = history(api, BTC_ADDRESS).json()
    assert body["chain"] == "bitcoin" and body["source"] == "mempool"
    rows = recorded("esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json")
    assert [t["hash"] for t in body["transactions"]] == [r["txid"] for r in rows]
    for item, tx in zip(body["transactions"], rows, strict=True):
        spent = sum(v["prevout"]["value"] for v in tx["vin"] if v["prevout"]["scriptpubkey_address"] == BTC_ADDRESS)
        got = sum(o["value"] for o in tx["vout"] if o.get("scriptpubkey_address") == BTC_ADDRESS)
        assert Decimal(item["value_exact"]) == Decimal(abs(got - spent)) / Decimal(10) ** 8
        assert item["direction"] == ("out" if spent > got else "in") and item["token"] == "BTC"
        assert item["timestamp"] == tx["status"]["block_time"] * 1000 and item["block"] == tx["status"]["block_height"]
        assert item["fee"] == float(Decimal(tx["fee"]) / Decimal(10) ** 8) and item["gas_price"] is None
    assert body["transactions"][0]["value"] == 0.00263216  # 263,216 satoshis spent by the address


def test_no_transactions_found_is_an_empty_list(api):
    response = history(api, EMPTY_ADDRESS)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["transactions"] == [] and body["count"] == 0
    assert body["source"] == "etherscan" and body["provenance"]["failed"] == []


def test_bsc_without_a_paid_plan_says_so(api, suite):
    response = history(api, EMPTY_ADDRESS, chain="bsc")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "UPSTREAM_UNAVAILABLE" and "paid Etherscan plan" in error["message"]
    assert error["details"]["attempts"][0]["code"] == "UPSTREAM_PLAN_REQUIRED"
    health = httpx.get(suite.url("chain") + "/health", timeout=10).json()
    assert "bsc" in health["components"]["etherscan"]["paid_plan_only"]


BAD = {  # path address, query parameters
    "checksum wrong": ("0xA1E4380A3B1f749673E270229993eE55F35663B4", {}),
    "checksum wrong 2": ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", {}),
    "too short": ("0xa1e4380a3b1f749673e270229993ee55f35663b", {}),
    "too long": ("0xa1e4380a3b1f749673e270229993ee55f35663b4a", {}),
    "not hex": ("0xg1e4380a3b1f749673e270229993ee55f35663b4", {}),
    "no 0x": ("a1e4380a3b1f749673e270229993ee55f35663b4a1", {"chain": "ethereum"}),
    "bitcoin address on ethereum": (BTC_ADDRESS, {"chain": "ethereum"}),
    "bitcoin address on polygon": ("1JDknRvZTi5XdhQB3cgvJ9R8aogUvfbYUB", {"chain": "polygon"}),
    "evm address on bitcoin": (ETH_ADDRESS, {"chain": "bitcoin"}),
    "bech32 checksum wrong": ("bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l3", {}),
    "bech32 mixed case": ("bc1qvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6L2", {}),
    "bech32m as bech32": ("bc1pvhykeqcpdzu0pdvy99xnh9ckhwzcfskct6h6l2", {}),
    "testnet bech32": ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", {}),
    "base58 checksum wrong": ("1JDknRvZTi5XdhQB3cgvJ9R8aogUvfbYUC", {}),
    "base58 bad character": ("1JDknRvZTi5XdhQB3cgvJ9R8aogUvfbYU0", {}),
    "base58 too short": ("1JDknRvZTi5Xd", {}),
    "testnet base58": ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", {}),
    "unsupported chain": (ETH_ADDRESS, {"chain": "solana"}),
    "chain upper case": (ETH_ADDRESS, {"chain": "ETHEREUM!"}),
    "limit 0": (ETH_ADDRESS, {"limit": "0"}),
    "limit 101": (ETH_ADDRESS, {"limit": "101"}),
    "limit not a number": (ETH_ADDRESS, {"limit": "ten"}),
    "limit float": (ETH_ADDRESS, {"limit": "2.5"}),
    "negative offset": (ETH_ADDRESS, {"offset": "-1"}),
    "offset past the window": (ETH_ADDRESS, {"offset": "10000"}),
    "unknown include": (ETH_ADDRESS, {"include": "nfts"}),
    "sql injection": ("0xa1e4380a3b1f749673e270229993ee55f35663b4' OR '1'='1", {}),
    "sql in chain": (ETH_ADDRESS, {"chain": "ethereum' OR 1=1--"}),
    "script": ("<script>alert(1)</script>", {}),
    "path traversal": ("..%2F..%2Fetc%2Fpasswd", {}),
    "null byte": ("0xa1e4380a3b1f749673e270229993ee55f35663b4%00", {}),
    "unicode": ("0xа1e4380a3b1f749673e270229993ee55f35663b4", {}),  # a Cyrillic а
    "emoji": ("🐋", {}),
    "very long": ("0x" + "a" * 500, {}),
    "whitespace": ("%200xa1e4380a3b1f749673e270229993ee55f35663b4", {}),
}
WHALE_BAD = {
    "min_value negative": {"min_value": "-1"},
    "min_value not a number": {"min_value": "lots"},
    "unknown chain": {"chain": "dogecoin"},
    "limit 0": {"limit": "0"},
    "limit 101": {"limit": "101"},
    "injection": {"chain": "bitcoin;DROP"},
}


@pytest.fixture(scope="module")
def calls_before(suite):
    """Calls the sandbox counted that a request could have made: address lookups on mempool and Esplora,
    every call to Whale Alert, and the account calls of both EVM explorers (the whale scan keeps polling
    the EVM explorers' proxy module and the Bitcoin explorers' blocks)."""
    control = httpx.Client(base_url=suite.url("sandbox"), timeout=10)

    def count() -> int:
        others = sum(control.get("/_sandbox/requests", params={"upstream": upstream, "path": path}).json()["total"]
                     for upstream, path in (("mempool", "/api/address"), ("esplora", "/api/address"),
                                            ("whale_alert", "/")))
        calls = control.get("/_sandbox/chain").json()["calls"]
        return others + sum(n for key, n in calls.items() if ":account." in key)

    yield count
    control.close()


@pytest.mark.parametrize("address, params", BAD.values(), ids=BAD.keys())
def test_bad_input_is_a_4xx_envelope_before_any_upstream_call(api, calls_before, address, params):
    before = calls_before()
    response = api.get(f"/api/blockchain/transactions/{address}", params=params)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] in ("INVALID_ADDRESS", "VALIDATION_ERROR", "NOT_FOUND")
    if "address" in body["error"]["details"]:
        assert response.status_code == 400 and body["error"]["code"] == "INVALID_ADDRESS"
    assert calls_before() == before  # no explorer was asked


@pytest.mark.parametrize("params", WHALE_BAD.values(), ids=WHALE_BAD.keys())
def test_bad_whale_alert_parameters_are_a_422_envelope(api, calls_before, params):
    before = calls_before()
    response = api.get("/api/blockchain/whale-alerts", params=params)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert calls_before() == before


def test_the_wrong_chain_for_an_address_form_says_which_chain_it_fits(api):
    body = history(api, BTC_ADDRESS, chain="ethereum").json()
    assert body["error"]["code"] == "INVALID_ADDRESS" and "valid bitcoin address" in body["error"]["message"]


ETHERSCAN_FAULTS = [
    ({"mode": "status", "status": 200, "body": recorded("etherscan/errors_docs_example.json")["rate_limited"]},
     "UPSTREAM_RATE_LIMITED"),
    ({"mode": "rate_limit", "retry_after": 1}, "UPSTREAM_RATE_LIMITED"),
    ({"mode": "status", "status": 500}, "UPSTREAM_ERROR"),
    ({"mode": "malformed"}, "UPSTREAM_BAD_RESPONSE"),
    ({"mode": "delay", "delay": 3}, "UPSTREAM_TIMEOUT"),
    ({"mode": "refuse"}, "UPSTREAM_UNAVAILABLE"),
]


@pytest.mark.parametrize("fault, code", ETHERSCAN_FAULTS,
                         ids=["notok-rate-limit", "429", "500", "malformed", "timeout", "down"])
def test_etherscan_failing_falls_back_to_the_second_explorer(api, sandbox, fault, code):
    sandbox.fault("etherscan", **fault)
    limit = next(_limits)
    body = history(api, ETH_ADDRESS, limit=limit).json()
    assert body["source"] == "routescan" and body["provenance"]["fallback"] is True
    assert [(f["source"], f["code"]) for f in body["provenance"]["failed"]] == [("etherscan", code)]
    assert [t["hash"] for t in body["transactions"]] == [r["hash"] for r in newest_first(ETH_TXLIST)[:limit]]


def test_both_evm_explorers_down_is_a_503_envelope_naming_each(api, sandbox):
    sandbox.fault("etherscan", mode="status", status=503)
    sandbox.fault("etherscan_fallback", mode="refuse")
    response = history(api, ETH_ADDRESS, limit=next(_limits))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "UPSTREAM_UNAVAILABLE"
    assert [(a["source"], a["code"]) for a in error["details"]["attempts"]] == [
        ("etherscan", "UPSTREAM_ERROR"), ("routescan", "UPSTREAM_UNAVAILABLE")]


# nginx's standard 429 page: mempool.space answers a rate limit with an HTML page (no recording of its exact
# page exists), so the status alone must say it.
NGINX_429 = ("<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many "
             "Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


@pytest.mark.parametrize("fault, code", [({"mode": "refuse"}, "UPSTREAM_UNAVAILABLE"),
                                         ({"mode": "rate_limit", "retry_after": 1}, "UPSTREAM_RATE_LIMITED"),
                                         ({"mode": "rate_limit", "retry_after": 1, "body": NGINX_429,
                                           "content_type": "text/html"}, "UPSTREAM_RATE_LIMITED"),
                                         ({"mode": "status", "status": 502}, "UPSTREAM_ERROR")],
                         ids=["down", "429", "429-html", "502"])
def test_mempool_failing_falls_back_to_esplora(api, sandbox, suite, fault, code):
    sandbox.fault("mempool", **fault)
    if "content_type" in fault:  # what mempool's stand-in now answers: an HTML page, not JSON
        page = httpx.get(f"{sandbox_url(suite, 'mempool')}/api/address/{BTC_ADDRESS}/txs", timeout=10)
        assert page.status_code == 429 and page.headers["content-type"] == "text/html" and page.text == NGINX_429
    body = history(api, BTC_ADDRESS, limit=next(_limits)).json()
    assert body["source"] == "esplora" and body["provenance"]["fallback"] is True
    assert [(f["source"], f["code"]) for f in body["provenance"]["failed"]] == [("mempool", code)]
    assert body["count"] == 2


def market_price(api, symbol: str) -> Decimal:
    """The USD price market-svc gives for a coin: every sandbox venue quotes the close of the hour in progress."""
    return Decimal(str(api.get(f"/api/price/{symbol}").json()["price"]))


async def wait_for_alert(client: httpx.AsyncClient, hashes: set[str], timeout: float = 20) -> list[dict]:
    """Alerts of the whale-alerts endpoint whose hash is one of `hashes`, once one shows up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        body = (await client.get("/api/blockchain/whale-alerts", params={"min_value": 0, "limit": 100})).json()
        found = [a for a in body["alerts"] if a["hash"] in hashes]
        if found:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError("no alert within the time")


async def test_a_mined_whale_transfer_is_one_alert_in_rest_nats_and_websocket(suite, contract, api):
    price = market_price(api, "ETH")
    threshold = Decimal("500000")  # CHAIN_WHALE_MIN_USD's default
    above = int(threshold * 2 / price * 10**18)  # twice the threshold, in wei
    below = int(threshold / 2 / price * 10**18)
    nc = await nats.connect(suite.url("nats"))
    seen_on_nats: list[dict] = []

    async def on_message(msg) -> None:
        seen_on_nats.append(orjson.loads(msg.data))

    await nc.subscribe("chain.whale.ethereum", cb=on_message)
    ws_url = suite.url("traefik").replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url) as ws, httpx.AsyncClient(
            base_url=suite.url("traefik"), timeout=30, event_hooks={"response": [_checked(contract)]}) as client:
        await ws.send(json.dumps({"action": "subscribe", "channel": "whales", "chains": ["ethereum"]}))
        while (orjson.loads(await ws.recv())).get("type") != "subscribed":
            pass
        mined = httpx.post(suite.url("sandbox") + "/_sandbox/chain/blocks", json={"transfers": [
            {"value": above, "from": BINANCE_WALLET}, {"value": below}]}).raise_for_status().json()
        hashes = set(mined["transactions"])
        alerts = await wait_for_alert(client, hashes)
        update = await asyncio.wait_for(_next_whale(ws), 10)
        await asyncio.sleep(1.5)  # a second scan round: nothing more may come
    await nc.close()
    assert len(alerts) == 1  # the transfer below the threshold made none
    alert = alerts[0]
    amount = Decimal(above) / Decimal(10) ** 18
    assert alert["hash"] == mined["transactions"][2]  # the first plain transfer of the recorded block
    assert alert["amount"] == float(amount) and alert["token"] == "ETH" and alert["chain"] == "ethereum"
    assert alert["price_usd"] == float(price)
    assert alert["usd_value"] == float((amount * price).quantize(Decimal("0.01")))
    assert alert["type"] == "exchange_outflow" and alert["from_owner"] == "Binance" and alert["to_owner"] is None
    assert alert["from"] == f"{BINANCE_WALLET} (Binance)" and alert["to"].endswith("(Unknown Wallet)")
    assert alert["timestamp"] == mined["timestamp"] * 1000 and alert["block"] == mined["number"]
    on_nats = [m for m in seen_on_nats if m["hash"] in hashes]
    assert len(on_nats) == 1 and on_nats[0]["type"] == "whale_alert" and on_nats[0]["usd_value"] == alert["usd_value"]
    assert on_nats[0]["transfer_type"] == "exchange_outflow" and on_nats[0]["from"] == alert["from"]
    assert update["data"]["hash"] == alert["hash"] and update["data"]["usd_value"] == alert["usd_value"]
    assert update["data"]["seq"] == on_nats[0]["seq"]


async def _next_whale(ws) -> dict:
    while True:
        message = orjson.loads(await ws.recv())
        if message.get("channel") == "whales":
            return message


def _checked(contract):
    async def hook(response: httpx.Response) -> None:
        await response.aread()
        contract.check(response)
    return hook


async def test_a_mined_bitcoin_whale_is_valued_at_market_svcs_btc_price(suite, api):
    price = market_price(api, "BTC")
    paid = int(Decimal(2_000_000) / price * 10**8)  # about 2 million USD, in satoshis
    mined = httpx.post(suite.url("sandbox") + "/_sandbox/chain/blocks", json={"chain": "bitcoin", "transfers": [
        {"value": paid, "to": "1JJ1ea6rHMrqtHw3oMVWgbenQWxNnqJTSX"}]}).raise_for_status().json()
    async with httpx.AsyncClient(base_url=suite.url("traefik"), timeout=30) as client:
        alerts = await wait_for_alert(client, set(mined["transactions"]))
    recorded_tx = recorded("esplora/api_address_bc1qvhyk_txs_mempool_space_2021-03.json")[0]
    change_free = [o["value"] for o in recorded_tx["vout"]]  # neither output goes back to an input
    sats = paid + sum(change_free) - max(change_free)  # the largest output was set to `paid`
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["chain"] == "bitcoin" and alert["token"] == "BTC" and alert["hash"] == mined["transactions"][0]
    assert alert["amount"] == float(Decimal(sats) / Decimal(10) ** 8) and alert["price_usd"] == float(price)
    assert alert["usd_value"] == float((Decimal(sats) / Decimal(10) ** 8 * price).quantize(Decimal("0.01")))
    assert alert["to_owner"] == "Bitfinex" and alert["type"] == "exchange_inflow"  # a labelled Bitfinex wallet
    assert alert["from_address"] == recorded_tx["vin"][0]["prevout"]["scriptpubkey_address"]
    assert alert["block"] == mined["number"] and alert["timestamp"] == mined["timestamp"] * 1000


async def test_a_block_read_that_fails_is_read_again_and_its_whale_not_lost(suite, api, sandbox):
    price = market_price(api, "BTC")
    sandbox.reset_counts()
    for upstream in ("mempool", "esplora"):  # both Bitcoin explorers fail the block's page twice
        sandbox.fault(upstream, mode="status", status=500, path="/api/block/", times=2)
    mined = httpx.post(suite.url("sandbox") + "/_sandbox/chain/blocks", json={"chain": "bitcoin", "transfers": [
        {"value": int(Decimal(3_000_000) / price * 10**8)}]}).raise_for_status().json()
    async with httpx.AsyncClient(base_url=suite.url("traefik"), timeout=30) as client:
        alerts = await wait_for_alert(client, set(mined["transactions"]))
    assert len(alerts) == 1 and alerts[0]["block"] == mined["number"]
    # Two rounds failed on both explorers, then mempool answered: the scan went back to the block, not past it.
    assert sandbox.count("mempool", "/api/block/") == 3 and sandbox.count("esplora", "/api/block/") == 2


def test_whale_alerts_filter_by_min_value_and_chain(api):
    everything = api.get("/api/blockchain/whale-alerts", params={"min_value": 0, "limit": 100}).json()
    assert everything["source"] == "detector" and everything["provenance"]["notes"]
    none = api.get("/api/blockchain/whale-alerts", params={"min_value": 1e13}).json()
    assert none["alerts"] == [] and none["success"] is True
    bitcoin = api.get("/api/blockchain/whale-alerts", params={"chain": "bitcoin", "min_value": 0}).json()
    assert all(a["chain"] == "bitcoin" for a in bitcoin["alerts"])
    values = [a["usd_value"] for a in everything["alerts"]]
    stamps = [a["timestamp"] for a in everything["alerts"]]
    assert stamps == sorted(stamps, reverse=True) and all(v >= 0 for v in values)
