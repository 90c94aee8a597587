"""news-svc's own types: what an adapter hands over (`Incoming`) and what is stored and served (`Article`)."""

from datetime import datetime

from pydantic import Field

from dm_shared.schemas import Model


class Incoming(Model):
    """One item as a source published it, mapped into the suite's fields (not yet normalized)."""

    provider: str = Field(description="The upstream that carried it: rss, cryptopanic, newsapi")
    feed: str | None = Field(None, description="The configured feed it came from (RSS)")
    title: str
    url: str
    source: str = Field(description="The publisher, e.g. CoinDesk")
    published_at: datetime | None
    summary: str | None = None
    image_url: str | None = None
    categories: list[str] = []
    language: str | None = Field(None, description="The language the source states, if it states one")
    currencies: list[str] = Field([], description="Tickers the source attached (CryptoPanic): a hint only")
    votes: dict[str, int] | None = None
    social: str | None = None


class Scored(Model):
    """A model's verdict on one text."""

    label: str = Field(description="negative, neutral or positive")
    score: float = Field(description="P(positive) - P(negative), from -1 to 1")
    probabilities: dict[str, float]
    model: str
    model_version: str
    cached: bool = False


class Article(Model):
    """A news article as served: spec 002's fields, then what else the suite knows about it."""

    id: str
    title: str
    url: str
    source: str
    published_at: str = Field(description="UTC, ISO 8601")
    sentiment: str | None = Field(description="negative, neutral or positive, by `sentiment_model`")
    sentiment_score: float | None = Field(description="P(positive) - P(negative) of the title, from -1 to 1")
    summary: str | None
    image_url: str | None
    tags: list[str]
    related_symbols: list[str]
    categories: list[str] = Field(description="bitcoin, ethereum, defi, nft: follows from the tags")
    language: str | None
    language_detected: bool = Field(description="Whether the language was detected here (the source said none)")
    providers: list[str] = Field(description="Every upstream that carried this story")
    votes: dict[str, int] | None = Field(description="CryptoPanic's community votes, when it carried the story")
    attribution: str | None = Field(description="Credit a source's terms ask for")
    sentiment_model: str | None
    sentiment_probabilities: dict[str, float] | None
    first_seen_at: int = Field(description="When the suite first ingested it, unix ms")
