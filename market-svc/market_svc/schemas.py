"""Response schemas of market-svc, for the OpenAPI document (bodies are rendered without re-validation)."""

from pydantic import BaseModel, ConfigDict, Field


class Attempt(BaseModel):
    source: str
    code: str
    message: str


class ProvenanceOut(BaseModel):
    fetched_at: int
    fallback: bool
    cached: bool
    stale: bool
    age_ms: int
    failed: list[Attempt]
    notes: list[str]


class Sourced(BaseModel):
    model_config = ConfigDict(extra="allow")
    success: bool
    timestamp: int
    source: str
    provenance: ProvenanceOut


class MarketItem(BaseModel):
    symbol: str
    name: str | None
    id: str | None
    rank: int | None
    price: float | None
    change_24h: float | None
    change_7d: float | None
    volume_24h: float | None
    market_cap: float | None
    circulating_supply: float | None
    total_supply: float | None
    ath: float | None
    ath_date: str | None
    atl: float | None
    atl_date: str | None
    last_updated: str | None


class MarketResponse(Sourced):
    last_updated: str | None
    currency: str
    count: int
    items: list[MarketItem]


class Candle(BaseModel):
    t: int
    o: float
    h: float
    l: float  # noqa: E741 (the spec's field name)
    c: float
    v: float | None


class OhlcvResponse(Sourced):
    symbol: str
    timeframe: str
    data: list[Candle]


class ConsensusSource(BaseModel):
    source: str
    price: float
    age_ms: int | None


class Consensus(BaseModel):
    sources: list[ConsensusSource]
    spread: float
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
    consensus: Consensus


class TickerResponse(Sourced):
    symbol: str
    bid: float | None
    ask: float | None
    last: float
    volume: float | None
    base_volume: float | None
    change_24h: float | None
    high_24h: float | None
    low_24h: float | None
    exchange_timestamp: int | None


class OrderBookResponse(Sourced):
    symbol: str
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    exchange_timestamp: int | None


class Trade(BaseModel):
    id: str | None
    timestamp: int | None
    price: float
    amount: float
    side: str | None
    type: str | None
    taker_or_maker: str | None


class TradesResponse(Sourced):
    symbol: str
    trades: list[Trade]


class TradingRules(BaseModel):
    symbol: str
    base: str | None
    quote: str | None
    active: bool | None
    min_amount: float | None
    max_amount: float | None
    min_price: float | None
    max_price: float | None
    maker_fee: float | None
    taker_fee: float | None


class ExchangeInfoResponse(Sourced):
    exchange: str
    symbols: list[TradingRules]


class GlobalFigures(BaseModel):
    total_market_cap: float | None
    total_volume_24h: float | None
    bitcoin_dominance: float | None
    ethereum_dominance: float | None
    defi_dominance: float | None
    market_cap_change_24h: float | None
    volume_change_24h: float | None
    active_cryptocurrencies: int | None
    active_markets: int | None
    active_exchanges: int | None


class Mover(BaseModel):
    symbol: str
    name: str | None
    change_24h: float
    volume_24h: float | None


class StatsResponse(Sourced):
    global_: GlobalFigures = Field(alias="global")
    top_gainers: list[Mover]
    top_losers: list[Mover]


class DominanceResponse(Sourced):
    dominance: dict[str, float]


class HistoryPoint(BaseModel):
    timestamp: int
    price: float
    volume: float | None
    market_cap: float | None


class HistoryResponse(Sourced):
    symbol: str
    pair: str
    interval: str
    data: list[HistoryPoint]


class FundingResponse(Sourced):
    symbol: str
    contract: str
    funding_rate: float
    funding_time: int | None
    next_funding_time: int | None
    mark_price: float | None
    index_price: float | None


class OpenInterestResponse(Sourced):
    symbol: str
    contract: str
    open_interest: float | None
    open_interest_value: float | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict


class ErrorResponse(BaseModel):
    success: bool
    error: ErrorDetail
    timestamp: int


ERRORS = {status: {"model": ErrorResponse} for status in (400, 404, 422, 429, 500, 502, 503, 504)}
