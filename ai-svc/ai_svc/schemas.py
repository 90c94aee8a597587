"""Response and request models of ai-svc (they are its OpenAPI document): spec 002 section 4, with more
fields where the suite says more (the model's measured skill, where each part came from)."""

from typing import Any, Literal

from pydantic import Field

from dm_shared.schemas import Model, Sourced

Method = Literal["baseline", "trained", "ensemble"]
Direction = Literal["bullish", "bearish", "neutral"]


class ModelInfo(Model):
    """Which model answered and what it measured against the random walk (docs/models.md)."""

    name: str
    version: str
    method: str
    timeframe: str
    trained_on: str | None
    evaluation: dict[str, Any] | None = Field(description="Measured on the held-out last 20 % of the history: "
                                                          "MAE, direction hit rate, pinball loss, coverage, "
                                                          "and the random walk's figures")
    skill: str = Field(description="A plain statement of its skill over the random walk, including none")
    coverage: float | None = Field(description="Nominal coverage of lower_bound .. upper_bound")


class PredictRequest(Model):
    """Spec 002 section 4.2."""

    symbol: str = Field(min_length=1, max_length=32, examples=["BTC/USDT"])
    timeframe: Literal["1h"] = Field("1h", description="Candle timeframe of the forecast steps (the model is hourly)")
    horizon: int = Field(24, ge=1, le=24, description="Steps ahead, 1 to 24")
    model: Method = Field("ensemble", description="baseline (random walk with empirical volatility), trained, "
                                                  "or ensemble (their mean)")


class PredictionPoint(Model):
    step: int
    timestamp: int = Field(description="Close time of the forecast candle, unix ms")
    price: float = Field(description="Median forecast")
    confidence: float = Field(description="Nominal coverage of lower_bound .. upper_bound (calibrated)")
    lower_bound: float
    upper_bound: float


class PredictResponse(Sourced):
    symbol: str
    timeframe: str
    horizon: int
    current_price: float = Field(description="Close of the newest closed candle, where the forecast starts")
    as_of: int = Field(description="Close time of that candle, unix ms")
    predictions: list[PredictionPoint]
    model: ModelInfo
    confidence: float
    direction: Direction


class Outcome(Model):
    result: Literal["target_hit", "stop_hit", "expired", "range_held", "range_broken", "unresolved"]
    hit: bool | None
    return_pct: float | None = Field(description="In the signal's direction for buy and sell, as a fraction")
    exit_price: float | None
    exit_time: int | None
    candles: int
    judged_at: int
    reason: str | None = None


class Signal(Model):
    """Spec 002 section 4.1, with how it ended once it has."""

    id: str
    symbol: str
    type: Literal["buy", "sell", "hold"]
    confidence: float = Field(description="Hit rate of past signals of this type and score band (Laplace prior)")
    score: float = Field(description="0-10: the size of the net vote")
    timeframe: str
    entry_price: float
    target_price: float | None
    stop_loss: float | None = Field(description="Entry minus (buy) or plus (sell) one ATR 14")
    risk_reward: float | None
    model: ModelInfo
    reasoning: list[str]
    indicators: dict[str, Any]
    calibration: dict[str, Any] = Field(description="The outcome counts `confidence` rests on: backtest seed and "
                                                    "recorded")
    sentiment: dict[str, Any] | None
    sentiment_reason: str | None
    timestamp: int
    expires_at: int
    status: Literal["open", "closed"]
    outcome: Outcome | None


class SignalsResponse(Sourced):
    count: int
    signals: list[Signal]


class Missing(Model):
    """Why a part is null."""

    code: str
    message: str


class Technical(Model):
    trend: Direction
    strength: float | None = Field(description="0-10: ADX 14 / 5")
    support_levels: list[float]
    resistance_levels: list[float]
    key_indicators: dict[str, Any]
    indicators: dict[str, Any]
    price: float
    candles: int
    as_of: int
    timeframe: str
    source: str


class Fundamental(Model):
    market_cap_rank: int | None
    dominance: float | None = Field(description="Share of the total market cap, percent")
    on_chain_metrics: dict[str, Any] | None
    sources: dict[str, str | None]
    missing: dict[str, Missing]


class SentimentPart(Model):
    overall: str
    score: float | None
    social_volume: float | None
    news_sentiment: float | None
    source: str


class OrderFlow(Model):
    vwap: float | None = Field(description="Of the recent trades")
    cvd: float | None = Field(description="Cumulative volume delta of the recent trades, base asset")
    trade_imbalance: float | None
    ofi: float | None = Field(description="Order-flow imbalance of the book's best levels, -1 .. 1")
    trades: int
    funding_rate: float | None
    open_interest: float | None
    sources: dict[str, str | None]
    missing: dict[str, Missing]


class HorizonForecast(Model):
    steps: int
    direction: Direction
    median: float
    lower_bound: float
    upper_bound: float


class PredictionPart(Model):
    short_term: Direction
    medium_term: Direction
    long_term: Direction
    confidence: float
    horizons: dict[str, HorizonForecast]
    model: ModelInfo


class Analysis(Model):
    technical: Technical | None
    fundamental: Fundamental | None
    sentiment: SentimentPart | None
    order_flow: OrderFlow | None
    prediction: PredictionPart | None
    missing: dict[str, Missing] = Field(description="Each null part and why")


class CacheLabel(Model):
    """What the gateway adds to an answer it serves from its cache."""

    cached: bool
    stale: bool
    age_ms: int
    stale_reason: str | None = None


class AnalysisResponse(Model):
    success: bool
    timestamp: int
    symbol: str
    analysis: Analysis
    provenance: CacheLabel | None = Field(None, description="Added by the gateway when it answers from its cache")
