"""Response models of news-svc, for the OpenAPI document: the suite's `Sourced` envelope around its types."""

from typing import Annotated

from pydantic import Field, StringConstraints

from dm_shared.schemas import Model, Sourced

from news_svc.domain.types import Article, Scored


class NewsResponse(Sourced):
    total: int = Field(description="Articles matching the filters, over every page")
    count: int
    news: list[Article]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class Component(Model):
    """One component of global sentiment: computed here with its method, or null with the reason."""

    value: float | None
    raw: float | None = Field(None, description="The figure the value was computed from, in its own unit")
    method: str | None = None
    source: str | None = None
    sample_size: int | None = None
    as_of: int | None = Field(None, description="Time of the newest data used, unix ms")
    reason: str | None = Field(None, description="Why the value is null")


class GlobalSentimentResponse(Sourced):
    fearGreedIndex: int = Field(description="alternative.me's Crypto Fear & Greed Index, 0-100")
    sentiment: str = Field(description="value_classification in lower case: extreme_fear ... extreme_greed")
    value_classification: str
    components: dict[str, Component]
    description: str
    last_updated: str = Field(description="The day the index value stands for (alternative.me), UTC ISO 8601")
    time_until_update: int | None = Field(description="Seconds until alternative.me's next value, as it said")


class IndexDay(Model):
    value: int
    value_classification: str
    timestamp: int = Field(description="unix seconds")
    date: str


class GlobalHistoryResponse(Sourced):
    days: int
    data: list[IndexDay] = Field(description="Newest first")


class SymbolSentimentResponse(Sourced):
    symbol: str
    sentiment_score: float | None = Field(description="= news_sentiment, the only sentiment measured here")
    sentiment: str | None = Field(description="positive above 0.1, negative below -0.1, else neutral")
    news_sentiment: float | None = Field(description="Mean sentiment_score (-1..1) of the symbol's articles in "
                                                     "the window")
    sample_size: int
    window_hours: int
    social_volume: int = Field(description="Articles mentioning the symbol in the window")
    social_dominance: float | None = Field(description="The symbol's share of all asset mentions in the window, %")
    twitter_sentiment: float | None
    reddit_sentiment: float | None = Field(description="Mean score of posts from feeds marked social=reddit")
    reasons: dict[str, str] = Field(description="Why each null field is null")


Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AnalyzeRequest(Model):
    texts: list[Text] = Field(min_length=1, max_length=100)


class AnalyzeResponse(Sourced):
    model: str
    model_version: str
    results: list[Scored]
