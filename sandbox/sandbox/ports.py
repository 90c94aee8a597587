"""Listener ports: one per upstream, at a fixed offset from the port base.

Offsets 6-14 and 16 are taken by listeners other branches add; 15 is the OpenAI-compatible chat endpoint.
"""

OFFSETS = {"control": 0, "coingecko": 1, "binance": 2, "kucoin": 3, "okx": 4, "coinmarketcap": 5, "openai": 15}


def ports_for(base: int, names: list[str] | None = None) -> dict[str, int]:
    """Map each listener name to its port for the given port base."""
    chosen = names if names is not None else list(OFFSETS)
    return {name: base + OFFSETS[name] for name in chosen}
