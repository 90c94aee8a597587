"""Listener ports: one per upstream, at a fixed offset from the port base."""

OFFSETS = {"control": 0, "coingecko": 1, "binance": 2, "kucoin": 3, "okx": 4, "coinmarketcap": 5,
           # news-svc's sources
           "rss": 6, "cryptopanic": 7, "newsapi": 8, "alternative_me": 9,
           # chain-svc's explorers
           "etherscan": 10, "etherscan_fallback": 11, "mempool": 12, "esplora": 13, "whale_alert": 14,
           # ai-svc's LLM: an OpenAI-compatible chat endpoint
           "openai": 15,
           # market-svc's second source of global stats
           "coinpaprika": 16}


def ports_for(base: int, names: list[str] | None = None) -> dict[str, int]:
    """Map each listener name to its port for the given port base."""
    chosen = names if names is not None else list(OFFSETS)
    return {name: base + OFFSETS[name] for name in chosen}
