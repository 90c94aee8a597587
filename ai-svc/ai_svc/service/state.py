"""What the lifespan opens and the routes use: settings, upstreams, the forecaster, the store, the bus."""

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
