"""From items as sources publish them to stored, tagged, scored articles, each story once.

One story is one article: the same canonical URL, or (from another source, where URLs differ, e.g.
CryptoPanic's own links) a title whose words are nearly the same within a couple of days. A repeat adds its
upstream to the article's `providers` (and CryptoPanic's votes) instead of a second article.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dm_shared.clock import now_ms
from dm_shared.names import Provider

from news_svc.adapters.cryptopanic import ATTRIBUTION
from news_svc.domain import tagging
from news_svc.domain.language import detect
from news_svc.domain.normalize import article_id, canonical_url, iso, similarity, strip_html, title_words, to_utc
from news_svc.domain.types import Incoming
from news_svc.ingest.store import Store
from news_svc.sentiment.scorer import Scorer

log = logging.getLogger("news.ingest")


@dataclass
class Known:
    """What deduplication remembers of stored stories: ids by URL, and title words with publication time."""

    by_url: dict[str, str] = field(default_factory=dict)
    titles: list[tuple[str, frozenset[str], int]] = field(default_factory=list)

    def add(self, document: dict[str, Any]) -> None:
        self.by_url[document["url"]] = document["id"]
        self.titles.append((document["id"], frozenset(document["title_words"]), document["published_ms"]))

    def forget_before(self, published_ms: int) -> None:
        """Drop titles published before `published_ms` (URLs are checked against the store as well)."""
        self.titles = [entry for entry in self.titles if entry[2] >= published_ms]

    def match(self, url: str, words: frozenset[str], published_ms: int, *, hours: float,
              threshold: float) -> str | None:
        """The id of the stored story this one repeats, if any."""
        if url in self.by_url:
            return self.by_url[url]
        window = hours * 3_600_000
        best = max(((similarity(words, known), known_id) for known_id, known, at in self.titles
                    if abs(at - published_ms) <= window), default=(0.0, None))
        return best[1] if best[0] >= threshold else None


def prepare(item: Incoming, *, now: datetime) -> dict[str, Any] | None:
    """An item's normalized fields (before scoring); None when nothing readable is left of its title."""
    title = strip_html(item.title)
    if not title:
        return None
    url = canonical_url(item.url)
    summary = strip_html(item.summary)
    published = to_utc(item.published_at, now)
    if published > now + timedelta(minutes=5):  # a clock in the future is not a publication time
        published = now
    text = f"{title}. {summary or ''}"
    language, detected = item.language, False
    if not language:
        language, detected = detect(text), True
    symbols = tagging.related_symbols(text, item.currencies)
    return {
        "id": article_id(url), "title": title, "url": url, "source": item.source,
        "published_at": iso(published), "published_ms": int(published.timestamp() * 1000),
        "summary": summary[:1000] if summary else None, "image_url": item.image_url,
        "tags": tagging.tags(item.categories, symbols), "related_symbols": symbols,
        "categories": tagging.categories(text, symbols), "language": language, "language_detected": detected,
        "providers": [item.provider], "votes": item.votes,
        "attribution": ATTRIBUTION if item.provider == Provider.CRYPTOPANIC else None,
        "social": item.social, "title_words": sorted(title_words(title)), "source_key": item.source.lower(),
        "feed": item.feed,
    }


@dataclass
class Outcome:
    """What one batch of items did to the store."""

    new: list[dict[str, Any]] = field(default_factory=list)
    merged: int = 0
    skipped: int = 0


class Ingest:
    """Normalize, deduplicate, tag, score and store items; returns the articles that are new."""

    def __init__(self, store: Store, scorer: Scorer, *, dedup_hours: float, dedup_similarity: float):
        self.store, self.scorer = store, scorer
        self.dedup_hours, self.dedup_similarity = dedup_hours, dedup_similarity
        self.known: Known | None = None

    async def _known(self) -> Known:
        if self.known is None:
            since = now_ms() - int(self.dedup_hours * 2 * 3_600_000)
            self.known = Known()
            for document in await self.store.recent(since):
                self.known.add(document)
        return self.known

    async def run(self, items: list[Incoming]) -> Outcome:
        """Store what is new among `items`; a repeat of a stored story is merged into it."""
        outcome, now = Outcome(), datetime.now(UTC)
        known = await self._known()
        fresh: list[tuple[dict[str, Any], Incoming]] = []
        for item in items:
            document = prepare(item, now=now)
            if document is None:
                outcome.skipped += 1
                continue
            words = frozenset(document["title_words"])
            repeat = known.match(document["url"], words, document["published_ms"], hours=self.dedup_hours,
                                 threshold=self.dedup_similarity)
            if repeat is None:
                repeat = next((d["id"] for d, _ in fresh if d["url"] == document["url"] or similarity(
                    words, frozenset(d["title_words"])) >= self.dedup_similarity), None)
                if repeat is None:
                    fresh.append((document, item))
                    continue
            by_title = known.by_url.get(document["url"]) != repeat
            await self._merge(repeat, item, fresh, document["url"] if by_title else None)
            if by_title and item.provider != Provider.CRYPTOPANIC:
                known.by_url[document["url"]] = repeat
            outcome.merged += 1
        # Older than what deduplication remembers (a feed keeps items for days): stored already, by id.
        stored = await self.store.existing([d["id"] for d, _ in fresh]) if fresh else set()
        for document, item in [(d, i) for d, i in fresh if d["id"] in stored]:
            await self.store.merge(document["id"], item.provider, item.votes, document["attribution"])
            outcome.merged += 1
        fresh = [(d, i) for d, i in fresh if d["id"] not in stored]
        known.forget_before(now_ms() - int(self.dedup_hours * 2 * 3_600_000))
        if fresh:
            scores = await self.scorer.score([d["title"] for d, _ in fresh])
            for (document, _), scored in zip(fresh, scores, strict=True):
                document.update(sentiment=scored.label, sentiment_score=scored.score,
                                sentiment_probabilities=scored.probabilities,
                                sentiment_model=f"{scored.model}@{scored.model_version}", first_seen_at=now_ms())
                known.add(document)
                if await self.store.insert(document):
                    outcome.new.append(document)
        return outcome

    async def _merge(self, article: str, item: Incoming, fresh: list[tuple[dict[str, Any], Incoming]],
                     url: str | None) -> None:
        attribution = ATTRIBUTION if item.provider == Provider.CRYPTOPANIC else None
        for document, _ in fresh:  # a repeat within this batch, not stored yet
            if document["id"] == article:
                if item.provider not in document["providers"]:
                    document["providers"].append(item.provider)
                document["votes"] = item.votes or document["votes"]
                document["attribution"] = attribution or document["attribution"]
                return
        direct = url if url and item.provider != Provider.CRYPTOPANIC else None
        await self.store.merge(article, item.provider, item.votes, attribution, direct)
