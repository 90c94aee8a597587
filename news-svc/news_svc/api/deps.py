"""What routes share: the service state dependency."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from news_svc.ingest.shared import Shared
from news_svc.ingest.store import Store
from news_svc.sentiment.scorer import Scorer
from news_svc.settings import NewsSettings


@dataclass
class NewsState:
    """What the lifespan opened, for the routes."""

    settings: NewsSettings
    store: Store
    scorer: Scorer
    shared: Shared


def get_state(request: Request) -> NewsState:
    return request.app.state.news


StateDep = Annotated[NewsState, Depends(get_state)]
