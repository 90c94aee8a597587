"""Response schemas of market-svc, for the OpenAPI document (bodies are rendered without re-validation)."""

from pydantic import BaseModel, ConfigDict


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


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict


class ErrorResponse(BaseModel):
    success: bool
    error: ErrorDetail
    timestamp: int


ERRORS = {status: {"model": ErrorResponse} for status in (400, 404, 422, 429, 500, 502, 503, 504)}
