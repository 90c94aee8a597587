"""Every NATS subject, JetStream stream and key-value bucket of the suite, in one place for the services
that publish and the gateway that subscribes (documented for other consumers in docs/asyncapi.yaml).

Subjects are dot-separated and lower-case; a pair appears as `BASE-QUOTE` (`Pair.token`).
"""

from dataclasses import dataclass

ANY = "*"


@dataclass(frozen=True)
class Stream:
    """A JetStream stream: its name and the subjects it keeps."""

    name: str
    subjects: tuple[str, ...]


def pair_token(symbol: str) -> str:
    """`BTC/USDT` as it appears in subjects: `BTC-USDT`."""
    return symbol.replace("/", "-")


def ticker_subject(exchange: str, token: str) -> str:
    """`market.ticker.<exchange>.<BASE-QUOTE>`: latest ticks, core NATS (no replay)."""
    return f"market.ticker.{exchange}.{token}"


def trades_subject(exchange: str, token: str) -> str:
    """`market.trades.<exchange>.<BASE-QUOTE>`: every trade, kept in the TRADES stream."""
    return f"market.trades.{exchange}.{token}"


def whale_subject(chain: str) -> str:
    """`chain.whale.<chain>`: large transfers seen on a chain, kept in the WHALES stream."""
    return f"chain.whale.{chain}"


TRADES = Stream("MARKET_TRADES", ("market.trades.>",))
WHALES = Stream("CHAIN_WHALES", ("chain.whale.>",))

# `news.article`: every new article once, kept in the NEWS stream for replay (Nats-Msg-Id: the article id).
NEWS_ARTICLE = "news.article"
NEWS = Stream("NEWS", (NEWS_ARTICLE,))

# Key-value buckets: leases that split work between replicas of a service.
STREAM_LEASES = "stream_leases"
# chain-svc: one block poller per chain for the whole deployment.
CHAIN_LEASES = "chain_leases"
NEWS_LEASES = "news_leases"


def signal_subject(token: str) -> str:
    """`ai.signal.<BASE-QUOTE>`: ai-svc's trading signals, kept in the AI_SIGNALS stream."""
    return f"ai.signal.{token}"


AI_SIGNALS = Stream("AI_SIGNALS", ("ai.signal.>",))
# One ai-svc replica generates signals and records their outcomes at a time.
AI_LEASES = "ai_leases"
