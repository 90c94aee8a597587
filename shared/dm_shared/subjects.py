"""The suite's NATS subjects and streams, in one place for the services that publish and the gateway
that subscribes (documented for other consumers in docs/asyncapi.yaml)."""

TRADES_STREAM = "MARKET_TRADES"
TRADES_WILDCARD = "market.trades.>"
ANY_EXCHANGE = "*"


def pair_token(symbol: str) -> str:
    """`BTC/USDT` as it appears in subjects: `BTC-USDT`."""
    return symbol.replace("/", "-")


def ticker_subject(exchange: str, symbol: str) -> str:
    """`market.ticker.<exchange>.<BASE-QUOTE>`: latest ticks, core NATS (no replay)."""
    return f"market.ticker.{exchange}.{pair_token(symbol)}"


def trades_subject(exchange: str, symbol: str) -> str:
    """`market.trades.<exchange>.<BASE-QUOTE>`: every trade, in JetStream stream MARKET_TRADES."""
    return f"market.trades.{exchange}.{pair_token(symbol)}"
