"""NATS subjects and streams of stream-svc (documented for consumers in docs/asyncapi.yaml)."""

from stream_svc.domain.messages import pair_token

TRADES_STREAM = "MARKET_TRADES"
TRADES_WILDCARD = "market.trades.>"


def ticker_subject(exchange: str, symbol: str) -> str:
    """`market.ticker.<exchange>.<BASE-QUOTE>`: latest ticks, core NATS (no replay)."""
    return f"market.ticker.{exchange}.{pair_token(symbol)}"


def trades_subject(exchange: str, symbol: str) -> str:
    """`market.trades.<exchange>.<BASE-QUOTE>`: every trade, in JetStream stream MARKET_TRADES."""
    return f"market.trades.{exchange}.{pair_token(symbol)}"
