"""What the lifespan opens and the routes use: settings, upstreams, the forecaster, the stores, the bus, the LLM."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from dm_shared.bus import Bus, Publisher

from ai_svc.adapters.market import MarketAdapter
from ai_svc.adapters.news import NewsAdapter
from ai_svc.forecast.forecaster import Forecaster
from ai_svc.settings import AiSettings


@dataclass
class AiState:
    settings: AiSettings
    market: MarketAdapter
    news: NewsAdapter
    forecaster: Forecaster
    model_status: dict[str, Any]
    mongo: AsyncMongoClient
    store: Any  # ai_svc.service.store.SignalStore
    bus: Bus
    publisher: Publisher
    replica: str
    generator: dict[str, Any] = field(default_factory=dict)
    analyses: Any = None  # ai_svc.service.analysis_store.AnalysisStore
    feedback: Any = None  # ai_svc.service.feedback_store.FeedbackStore
    prompts: Any = None  # ai_svc.service.prompt_store.PromptStore
    decisions: Any = None  # ai_svc.service.decision_log.DecisionLog
    llm: Any = None  # ai_svc.llm.client.ChatClient, None when no LLM is configured
    started_ms: int = 0
    # One producer numbers a pair's messages on ai.signal.<pair> (signals and AISignalReceived alike): the
    # generator and the runner publish one at a time, so numbers go out in order.
    publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Outcome counts per confidence band, read from the signal store at most every BANDS_TTL seconds.
    bands: tuple[float, dict[str, dict[str, int]]] | None = None
