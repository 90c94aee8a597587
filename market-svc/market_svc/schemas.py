"""Response models of market-svc, for the OpenAPI document: the suite's `Sourced` envelope around the
domain types the adapters return (bodies are rendered without re-validation; the tests validate them)."""

from typing import Literal

from pydantic import Field

from dm_shared.schemas import Attempt, Model, Sourced

from market_svc.domain.types import Candle, Funding, MarketItem, OpenInterest, OrderBook, Ticker, Trade, TradingRules


class MarketResponse(Sourced):
    last_updated: str | None
    currency: str = Field(description="The currency asked for")
    price_currency: str = Field(description="What prices and volumes are in: the currency asked for, or a "
                                            "stablecoin standing in for it (USDT from an exchange)")
    volume_scope: str = Field(description="Whose trading volume_24h counts: `aggregate` (every market the data "
                                          "provider tracks) or one venue's name (that venue's own pairs only)")
    count: int
    not_found: list[str] = Field(description="Tickers or ids asked for (`symbols`, `ids`) that the list does not hold")
    items: list[MarketItem]


class OhlcvResponse(Sourced):
    symbol: str
    timeframe: str
    data: list[Candle]


class ConsensusSource(Model):
    source: str
    price: float
    age_ms: int | None = Field(description="Age of the quote by the source's own timestamp; null when it has none")
    used: bool = Field(description="Whether the quote went into price and spread")
    excluded: Literal["stale", "outlier"] | None = Field(
        None, description="Why it was not used: older than the maximum age, or too far from the other quotes")


class Consensus(Model):
    sources: list[ConsensusSource]
    spread: float = Field(description="Highest minus lowest used quote")
    spread_pct: float | None
    late: list[str]
    failed: list[Attempt]


class PriceResponse(Sourced):
    symbol: str
    pair: str
    currency: str
    price: float
    change_24h: float | None = None
    high_24h: float | None = None
    low_24h: float | None = None
    volume_24h: float | None = None
    stats_source: str | None = Field(None, description="The source of the 24h figures")
    consensus: Consensus


class TickerResponse(Sourced, Ticker):
    pass


class OrderBookResponse(Sourced, OrderBook):
    pass


class TradesResponse(Sourced):
    symbol: str
    trades: list[Trade]


class ExchangeInfoResponse(Sourced):
    exchange: str
    symbols: list[TradingRules]


class GlobalFigures(Model):
    """Market-wide figures in USD; null where the answering source does not publish one (see the notes)."""

    total_market_cap: float | None
    total_volume_24h: float | None
    bitcoin_dominance: float | None = Field(description="Bitcoin's share of the total market cap, percent")
    ethereum_dominance: float | None
    defi_dominance: float | None
    market_cap_change_24h: float | None = Field(description="Change of the total market cap over 24 hours, percent")
    volume_change_24h: float | None = Field(description="Change of the 24 hour volume over 24 hours, percent")
    active_cryptocurrencies: int | None
    active_markets: int | None
    active_exchanges: int | None
    updated_at: int | None = Field(description="When the source last updated these figures, unix seconds")


class Mover(Model):
    symbol: str
    name: str | None
    change_24h: float
    volume_24h: float | None


class StatsResponse(Sourced):
    global_: GlobalFigures = Field(alias="global")
    top_gainers: list[Mover] | None = Field(description="The day's largest risers among CoinGecko's 250 largest "
                                                        "coins; null when that list cannot be had (see notes)")
    top_losers: list[Mover] | None = Field(description="The day's largest fallers, likewise")


class DominanceResponse(Sourced):
    dominance: dict[str, float]


class HistoryPoint(Model):
    timestamp: int = Field(description="A boundary of the interval (whole hour; day at 00:00 UTC; week on Monday "
                                       "00:00 UTC; month on the 1st 00:00 UTC), unix ms: the point is the price "
                                       "at that time")
    price: float = Field(description="The price at `timestamp`: the close of the candle ending there (exchanges), "
                                     "or the last observation at or before it within the interval (CoinGecko)")
    volume: float | None = Field(description="24 hour volume in USD at `timestamp` (CoinGecko); null from "
                                              "exchange candles")
    base_volume: float | None = Field(description="Volume in the base asset over the interval ending at "
                                                  "`timestamp` (exchanges); null from CoinGecko")
    market_cap: float | None


class HistoryResponse(Sourced):
    symbol: str
    pair: str
    interval: str
    data: list[HistoryPoint]


class FundingResponse(Sourced, Funding):
    symbol: str
    contract: str


class OpenInterestResponse(Sourced, OpenInterest):
    symbol: str
    contract: str
