"""What a user should know about data from a source, said in the response."""

from dm_shared.provenance import Provenance

# Per endpoint, per source.
NOTES: dict[str, dict[str, str]] = {
    "market": {
        "binance": "binance prices are in USDT against each coin; it publishes no market cap, supply or "
                   "all-time figures, and `rank` is empty (ordered by 24h quote volume when sorted by rank)",
    },
    "ohlcv": {"coingecko": "coingecko candles are priced in USD and carry no volume"},
    "stats": {"coingecko-markets": "global figures estimated from the 250 largest coins' market caps and "
                                   "volumes, because CoinGecko's /global did not answer"},
    "dominance": {"coingecko-markets": "shares of the 250 largest coins' combined market cap, because "
                                       "CoinGecko's /global did not answer"},
    "history": {"binance": "from Binance candles: price is the candle close in USDT, market cap is not "
                           "known there, and volume is in the base asset (base_volume)",
                "kucoin": "from KuCoin candles: price is the candle close in USDT, market cap is not "
                          "known there, and volume is in the base asset (base_volume)"},
}


def noted(provenance: Provenance, endpoint: str) -> Provenance:
    """`provenance` with the note its answering source needs for this endpoint, if any."""
    note = NOTES.get(endpoint, {}).get(provenance.source)
    if note:
        provenance.notes.append(note)
    return provenance
