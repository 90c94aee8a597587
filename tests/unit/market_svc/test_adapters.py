"""Recorded upstream payloads replayed through each adapter's mapping, with no server: what the venue sent
is what the suite's type says (for ccxt venues, through the parser ccxt uses on that answer)."""

import json
from pathlib import Path

import ccxt
import pytest

from market_svc.adapters import cmc, coingecko, coinpaprika, exchange

DATA = Path(__file__).resolve().parents[3] / "sandbox" / "data"


def recorded(name: str):
    return json.loads((DATA / name).read_text())


def test_coingecko_market_rows():
    rows = recorded("coingecko/coins_markets_usd_per100_page1.json")
    for row in rows:
        item = coingecko.to_market_item(row)
        assert (item.symbol, item.id, item.rank, item.price) == (
            row["symbol"].upper(), row["id"], row["market_cap_rank"], row["current_price"])
        assert (item.volume_24h, item.market_cap, item.change_24h) == (
            row["total_volume"], row["market_cap"], row["price_change_percentage_24h"])
        assert item.ath_date == (row["ath_date"] or "")[:10] or item.ath_date is None


def test_coingecko_global_and_chart():
    data = recorded("coingecko/global.json")["data"]
    totals = coingecko.to_global(data)
    assert totals.total_market_cap == data["total_market_cap"]["usd"]
    assert totals.market_cap_percentage["btc"] == data["market_cap_percentage"]["btc"]
    assert totals.updated_at == data["updated_at"] and totals.markets == data["markets"]
    chart = recorded("coingecko/coins_bitcoin_market_chart_usd_days7.json")
    assert coingecko.Chart(**chart).prices[0] == tuple(chart["prices"][0])


def test_coinmarketcap_listing_rows():
    for row in recorded("coinmarketcap/listings_latest_usd_limit100.json")["data"]:
        item = cmc.to_market_item(row, "usd")
        usd = row["quote"]["USD"]
        assert (item.symbol, item.rank, item.id) == (row["symbol"], row["cmc_rank"], row["slug"])
        assert (item.price, item.market_cap, item.volume_24h) == (usd["price"], usd["market_cap"], usd["volume_24h"])


def test_coinpaprika_global_says_only_what_it_publishes():
    data = recorded("coinpaprika/global.json")
    totals = coinpaprika.to_global(data)
    assert (totals.total_market_cap, totals.total_volume_24h) == (2_559_344_984_924, 217_605_673_763)
    assert totals.market_cap_percentage == {"btc": 44.68}  # bitcoin's share only: no other coin is broken out
    assert (totals.market_cap_change_24h, totals.volume_change_24h) == (-1.86, -18.21)  # percent, as published
    assert (totals.active_cryptocurrencies, totals.updated_at) == (5438, 1_634_927_806)
    assert totals.markets is None  # no count of markets or exchanges
    for missing in ("market_cap_usd", "bitcoin_dominance_percentage"):  # the figures it is asked for
        with pytest.raises(coinpaprika.UpstreamBadResponseError), coinpaprika.reading("coinpaprika", "/global"):
            coinpaprika.to_global({k: v for k, v in data.items() if k != missing})


@pytest.fixture(scope="module")
def binance() -> ccxt.Exchange:
    venue = ccxt.binance({"options": {"crossMarginPairsData": [], "isolatedMarginPairsData": []}})
    symbols = [*recorded("binance/exchangeInfo_subset_BTCUSDT_ETHUSDT.json")["symbols"],
               *recorded("binance/fapi_exchangeInfo_subset_BTCUSDT_ETHUSDT.json")["symbols"]]
    venue.set_markets([venue.parse_market(s) for s in symbols])
    return venue


def test_binance_ticker_book_trades_candles(binance):
    raw = recorded("binance/ticker_24hr_BTCUSDT.json")
    ticker = exchange.to_ticker("BTC/USDT", binance.parse_ticker(raw, binance.market("BTC/USDT")))
    assert (ticker.last, ticker.bid, ticker.ask) == (float(raw["lastPrice"]), float(raw["bidPrice"]),
                                                     float(raw["askPrice"]))
    assert (ticker.volume, ticker.base_volume) == (float(raw["quoteVolume"]), float(raw["volume"]))
    assert ticker.change_24h == float(raw["priceChangePercent"]) and ticker.exchange_timestamp == int(raw["closeTime"])
    depth = recorded("binance/depth_BTCUSDT_limit10.json")
    book = exchange.to_book("BTC/USDT", binance.parse_order_book(depth, "BTC/USDT"), 3)
    assert book.bids == [(float(p), float(a)) for p, a in depth["bids"][:3]] and len(book.asks) == 3
    agg = recorded("binance/aggTrades_BTCUSDT.json")
    trades = [exchange.to_trade(t) for t in binance.parse_trades(agg, binance.market("BTC/USDT"))]
    assert [t.price for t in trades] == [float(t["p"]) for t in agg]
    assert [t.side for t in trades] == ["sell" if t["m"] else "buy" for t in agg]
    klines = recorded("binance/klines_BTCUSDT_1m.json")
    candles = [exchange.to_candle(row) for row in binance.parse_ohlcvs(klines, binance.market("BTC/USDT"))]
    assert [(c.t, c.c, c.v) for c in candles] == [(k[0], float(k[4]), float(k[5])) for k in klines]


def test_binance_perpetual_funding_and_open_interest(binance):
    perpetual = binance.market("BTC/USDT:USDT")
    premium = recorded("binance/fapi_premiumIndex_BTCUSDT_ccxt_comment.json")
    funding = exchange.to_funding(binance.parse_funding_rate(premium, perpetual))
    assert funding.funding_rate == float(premium["lastFundingRate"]) and funding.mark_price == float(
        premium["markPrice"])
    # The current rate is charged at Binance's nextFundingTime: that is the answer's funding_time.
    assert funding.funding_time == int(premium["nextFundingTime"])
    interest = recorded("binance/fapi_openInterest_BTCUSDT.json")
    oi = exchange.to_open_interest(binance.parse_open_interest(interest, perpetual), perpetual)
    assert oi.open_interest == float(interest["openInterest"]) and oi.exchange_timestamp == interest["time"]
    assert oi.unit == "BTC" and oi.open_interest_value is None and oi.value_currency is None


def test_kucoin_ticker_book_trades():
    venue = ccxt.kucoin()
    stats = recorded("kucoin/market_stats_BTC-USDT.json")["data"]
    ticker = exchange.to_ticker("BTC/USDT", venue.parse_spot_or_uta_ticker(stats))
    assert (ticker.last, ticker.bid, ticker.ask) == (float(stats["last"]), float(stats["buy"]), float(stats["sell"]))
    assert (ticker.volume, ticker.base_volume) == (float(stats["volValue"]), float(stats["vol"]))
    assert ticker.change_24h == pytest.approx(float(stats["changeRate"]) * 100)
    book_data = recorded("kucoin/orderbook_level2_20_BTC-USDT.json")["data"]
    book = exchange.to_book("BTC/USDT", venue.parse_order_book(book_data, "BTC/USDT", book_data["time"]), 20)
    assert book.asks[0] == tuple(float(x) for x in book_data["asks"][0])


def test_okx_ticker_and_open_interest_contracts():
    venue = ccxt.okx()
    venue.set_markets([venue.parse_market(m) for m in recorded("okx/public_instruments_SWAP.json")["data"]])
    raw = recorded("okx/market_ticker_BTC-USDT.json")["data"][0]
    ticker = exchange.to_ticker("BTC/USDT", venue.parse_ticker(raw))
    assert ticker.last == float(raw["last"]) and ticker.exchange_timestamp == int(raw["ts"])
    interest = recorded("okx/public_open-interest_BTC-USDT-SWAP.json")["data"][0]
    swap = venue.market("BTC/USDT:USDT")
    oi = exchange.to_open_interest(venue.parse_open_interest(interest, swap), swap)
    # OKX counts contracts of 0.01 BTC (`oi`); the answer is in BTC, OKX's own `oiCcy`, like Binance's
    assert (oi.open_interest, oi.unit) == (float(interest["oiCcy"]), "BTC") and swap["contractSize"] == 0.01
    assert oi.open_interest == pytest.approx(float(interest["oi"]) * 0.01)
    assert (oi.open_interest_value, oi.value_currency) == (float(interest["oiUsd"]), "USD")
