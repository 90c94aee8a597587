"""Request and response models of spec 004's AI trading endpoints (they are their OpenAPI document): spec
004's fields, in spec 002's envelope (`success`, `timestamp` in unix ms; ISO strings as extra fields where
spec 004 shows them), with what each figure rests on."""

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool

from dm_shared.schemas import Model, Sourced

from ai_svc.schemas import Direction, Missing

Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"]
Call = Literal["Long", "Short", "Neutral"]
Level = Literal["Low", "Medium", "High"]


def _not_a_boolean(value: Any) -> Any:
    """JSON's true and false are not numbers, whatever Python thinks (bool is an int there)."""
    if isinstance(value, bool):
        raise ValueError("a number, not a boolean")
    return value


Number = BeforeValidator(_not_a_boolean)
# The validator after the bounds, so the document shows them as minimum and maximum.
Price = Annotated[float, Field(ge=1e-10, le=1e12, allow_inf_nan=False), Number]
Amount = Annotated[float, Field(ge=0, le=1e18, allow_inf_nan=False), Number]
Millis = Annotated[int, Field(ge=0, le=10**14, description="unix ms"), Number]
Symbol = Annotated[str, Field(min_length=1, max_length=32, examples=["BTC/USDT"])]
StrategyName = Annotated[str, Field(min_length=1, max_length=60, examples=["RSI Strategy"])]


class CandleIn(Model):
    """One candle as spec 004 sends it."""

    timestamp: Millis = Field(description="Open time, unix ms")
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Amount


TimeframeData = dict[Timeframe, Annotated[list[CandleIn], Field(max_length=1000)]]


class StrategyContext(Model):
    """Spec 004's strategy context: which strategies to score; the rest is handed to the LLM as the trader's context."""

    selected_strategies: Annotated[list[StrategyName], Field(max_length=20)] = []
    market_condition: Annotated[str, Field(max_length=60)] | None = None
    risk_level: Annotated[str, Field(max_length=40)] | None = None
    user_preferences: dict[str, Any] = {}
    technical_indicators: dict[str, Any] = {}


class AnalyzeRequest(Model):
    """Spec 004's POST /ai/analyze: a symbol and its candles, or just a symbol (then market-svc's candles)."""

    symbol: Symbol
    timeframe_data: TimeframeData | None = Field(None, description="Candles per timeframe, oldest or newest first; "
                                                                   "the 1h ones lead when sent (then 4h, 1d ...)")
    current_price: Price | None = None
    volume_24h: Amount | None = None
    timestamp: Millis | None = None
    strategy_context: StrategyContext | None = None


class MarketAnalysis(Model):
    trend_direction: Literal["Bullish", "Bearish", "Neutral"]
    trend_strength: float | None = Field(description="ADX 14 / 50, capped at 1")
    support_levels: list[float]
    resistance_levels: list[float]
    volatility_level: Level | None = Field(description="Where the newest ATR 14 (share of price) ranks in the window")
    volume_analysis: str
    volatility_rank: float | None = Field(description="That rank, 0..1")
    atr_14: float | None
    volume_ratio: float | None
    price: float = Field(description="Close of the newest closed candle")


class RiskAssessment(Model):
    overall_risk: Level
    technical_risk: float | None = Field(description="The volatility rank, 0..1")
    market_risk: float = Field(description="Deepest fall from a peak of the window's closes, 0..1")
    recommended_position_size: float = Field(description="Share of capital that loses risk_per_trade at the stop")
    stop_loss_suggestion: float | None
    take_profit_suggestion: float | None
    risk_per_trade: float


class EngineVerdict(Model):
    """The indicator engine's call (the rule of the signals, docs/ai-trading.md)."""

    signal: Call
    confidence: float = Field(description="Hit rate of past signals of this type and score band (Laplace prior)")
    score: float
    net_vote: float
    reasoning: list[str]
    votes: dict[str, float]
    calibration: dict[str, Any]


class LlmPart(Model):
    """Whether the LLM decided, and if not, why."""

    configured: bool
    used: bool
    model: str | None
    prompt_version: int | None
    decision_id: str | None = Field(description="Its entry in the decision log (GET /api/ai/decisions)")
    latency_ms: float | None
    reason: str | None


class ForecastPart(Model):
    steps: int
    median_return: float
    low_return: float
    high_return: float


class TimeframeTrend(Model):
    trend: Direction
    candles: int
    as_of: int
    close: float


class AnalyzeResponse(Sourced):
    """Spec 004's analysis, with who decided and on what."""

    signal: Call
    confidence: float
    reasoning: str
    strategy_scores: dict[str, float | None] = Field(description="0 fully bearish, 0.5 no view, 1 fully bullish")
    market_analysis: MarketAnalysis
    risk_assessment: RiskAssessment
    id: str
    symbol: str
    analysed_at: int
    analysed_at_iso: str
    decided_by: Literal["llm", "indicator-engine"]
    model: str
    engine: EngineVerdict
    llm: LlmPart
    forecast: ForecastPart | None
    timeframe: Timeframe
    timeframes: dict[str, TimeframeTrend]
    candles: int
    as_of: int = Field(description="Close time of the newest candle analysed, unix ms")
    indicators: dict[str, Any]
    missing: dict[str, Missing]
    cached: bool = Field(description="Served from the store: the same input was analysed within the cache time")
    age_ms: int


class KeyStatus(Model):
    key: str
    paused_for: float
    breaker: str


class LlmStatus(Model):
    configured: bool
    model: str | None
    url: str | None
    keys: list[KeyStatus]
    calls: int
    answered: int
    last_error: str | None
    min_interval_seconds: float
    response_format: str
    reason: str | None = None


class InfoResponse(Model):
    success: bool
    timestamp: int
    service_name: str
    version: str
    model_version: str
    supported_timeframes: list[str]
    supported_symbols: list[str]
    capabilities: list[str]
    last_trained: str | None
    trained_on: str | None
    strategies: list[str]
    analysis_interval_minutes: float
    llm: LlmStatus


class StrategyInfo(Model):
    name: str
    style: Literal["mean_reversion", "trend", "volume"]
    description: str
    indicators: list[str]


class StrategiesResponse(Model):
    success: bool
    timestamp: int
    strategies: list[str]
    details: list[StrategyInfo]


class RecommendationsRequest(Model):
    symbol: Symbol
    timeframe_data: TimeframeData | None = None
    current_price: Price | None = None
    timestamp: Millis | None = None
    available_strategies: Annotated[list[StrategyName], Field(max_length=20)] | None = None


class RecommendedConfig(Model):
    enabled: bool
    weight: float


class MeasuredReturn(Model):
    return_pct: float = Field(description="Sum of stance x next candle's return, percent, before fees")
    steps: int
    positioned: int
    hit_rate: float | None
    mean_return_pct: float | None
    t_stat: float | None


class Recommendation(Model):
    strategy_name: str
    suitability_score: float = Field(description="Phi(t) of the positioned returns: how sure the mean is above 0")
    reasoning: str
    recommended_config: RecommendedConfig
    style: str
    stance_now: float | None
    measured: MeasuredReturn


class Window(Model):
    start: int
    end: int
    steps: int


class RecommendationsResponse(Sourced):
    symbol: str
    timeframe: Timeframe
    ranked_by: Literal["return_pct"]
    window: Window
    recommendations: list[Recommendation]


class MarketConditionRequest(Model):
    symbol: Symbol
    timeframe_data: TimeframeData | None = None
    current_price: Price | None = None
    volume_24h: Amount | None = None
    timestamp: Millis | None = None


class MarketConditionResponse(Sourced):
    symbol: str
    condition_type: Literal["Trending Up", "Trending Down", "Sideways"]
    confidence: float
    characteristics: list[str]
    recommended_strategies: list[str]
    market_phase: Literal["Active Trading", "Consolidation", "Breakout"]
    measurements: dict[str, Any]
    timeframe: Timeframe


class FeedbackRequest(Model):
    """Spec 004's feedback; `signal_id` is the id of a signal or an analysis."""

    signal_id: Annotated[str, Field(min_length=1, max_length=128)]
    symbol: Symbol | None = None
    predicted_signal: Literal["Long", "Short", "Neutral", "long", "short", "neutral", "buy", "sell",
                              "hold"] | None = None
    actual_outcome: Literal["PROFIT", "LOSS", "NEUTRAL"]
    profit_loss: Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False), Number] | None = None
    confidence_was_accurate: StrictBool | None = None
    feedback_notes: Annotated[str, Field(max_length=2000)] | None = None
    timestamp: Millis | None = None


class FeedbackPrediction(Model):
    kind: Literal["signal", "analysis"]
    symbol: str
    signal: Literal["long", "short", "neutral"]
    made_at: int


class FeedbackResponse(Model):
    success: bool
    timestamp: int
    message: str
    signal_id: str
    feedback_id: str
    prediction: FeedbackPrediction
    actual_outcome: str
    received_at: int
    timestamp_iso: str


class PerformanceCounts(Model):
    predictions: int
    labelled: int
    pending: int
    from_outcomes: int
    from_feedback: int
    true_positive: int
    false_positive: int
    true_negative: int
    false_negative: int


class UptimeBasis(Model):
    slots: int
    symbols: int
    made: int
    expected: int


class PerformanceFigures(Model):
    overall_accuracy: float | None
    precision: float | None
    recall: float | None
    f1_score: float | None
    predictions_made: int
    successful_predictions: int
    average_confidence: float | None
    model_uptime: str | None = Field(description="Share of the periodic runner's slots with a stored analysis")
    last_updated: str | None = Field(description="ISO 8601 time of the newest outcome or feedback counted")
    last_updated_ms: int | None
    counts: PerformanceCounts
    uptime_basis: UptimeBasis
    reasons: dict[str, str] = Field(description="Why each null figure is null")


class PerformanceGroup(PerformanceFigures):
    key: str


class PerformanceWindow(Model):
    start: int
    end: int
    days: int


class PerformanceFilters(Model):
    model: str | None
    symbol: str | None


class PerformanceResponse(PerformanceFigures):
    success: bool
    timestamp: int
    window: PerformanceWindow
    filters: PerformanceFilters
    models: dict[str, int] = Field(description="Predictions in the window per model")
    symbols: dict[str, int] = Field(description="Predictions in the window per symbol")
    by: Literal["model", "symbol"] | None
    breakdown: list[PerformanceGroup] | None


class SymbolBreakdown(Model):
    symbol: str
    analysis_count: int
    latest_analysis: str
    latest_analysis_ms: int


class StorageStatsResponse(Model):
    success: bool
    timestamp: int
    total_analyses: int
    symbols_analyzed: int
    symbol_breakdown: list[SymbolBreakdown]
    analysis_interval_minutes: float
    collection_name: str
    archived_analyses: int
    archive_collection: str
    clear_mode: Literal["archive", "delete"]
    feedback_count: int
    llm_decisions: int


class StorageClearResponse(Model):
    success: bool
    timestamp: int
    message: str
    cleared_analyses: int
    mode: Literal["archive", "delete"]
    archive_collection: str | None
    timestamp_iso: str


class PromptRequest(Model):
    """A new version of the analysis prompt: `$placeholders` are filled per analysis (GET shows them)."""

    system: Annotated[str, Field(min_length=1, max_length=8000)]
    user: Annotated[str, Field(min_length=1, max_length=8000)]
    note: Annotated[str, Field(max_length=500)] | None = None


class PromptVersion(Model):
    version: int
    digest: str
    note: str | None
    author: str
    created_at: int


class PromptResponse(Model):
    success: bool
    timestamp: int
    name: str
    version: int
    system: str
    user: str
    digest: str
    note: str | None
    author: str
    created_at: int
    placeholders: list[str]
    versions: list[PromptVersion]


class DecisionAttempt(Model):
    key: str = Field(description="primary, backup-1 ... (never the key)")
    status: int | None = Field(description="HTTP status; null when the key was paused and not called")
    code: str | None
    latency_ms: float
    retry_after: float | None


class DecisionPrompt(Model):
    name: str
    version: int
    digest: str


class Decision(Model):
    id: str
    timestamp: int
    symbol: str
    analysis_id: str
    model: str
    answered_by: str | None
    url: str
    prompt: DecisionPrompt
    input_digest: str = Field(description="sha256 of the exact messages sent")
    attempts: list[DecisionAttempt]
    answer: str | None
    parsed: bool
    verdict: dict[str, Any] | None
    used: bool
    error: str | None
    latency_ms: float
    tokens: dict[str, int] | None


class DecisionsResponse(Model):
    success: bool
    timestamp: int
    count: int
    decisions: list[Decision]

