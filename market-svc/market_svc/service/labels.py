"""What a user should know about data from a source, said in the response."""

from dm_shared.names import Provider, Venue
from dm_shared.provenance import Provenance

# The estimate from CoinGecko's own coin list, when neither CoinGecko's nor CoinPaprika's /global answers.
COIN_LIST = "coingecko-markets"

# Per endpoint, per source.
NOTES: dict[str, dict[str, str]] = {
    "market": {
        Venue.BINANCE: "binance prices are in USDT against each coin; it publishes no market cap, supply or "
                   "all-time figures, and `rank` is empty (ordered by 24h quote volume when sorted by rank)",
    },
    "ohlcv": {Provider.COINGECKO: "coingecko candles are priced in USD and carry no volume"},
    "stats": {COIN_LIST: "global figures estimated from the 250 largest coins' market caps and volumes, because "
                         "neither CoinGecko's nor CoinPaprika's /global answered",
              Provider.COINPAPRIKA: "coinpaprika breaks out bitcoin's share only and counts no markets or "
                                    "exchanges: ethereum_dominance, active_markets and active_exchanges are null"},
    "dominance": {COIN_LIST: "shares of the 250 largest coins' combined market cap, because neither CoinGecko's "
                             "nor CoinPaprika's /global answered",
                  Provider.COINPAPRIKA: "coinpaprika breaks out bitcoin's share only: `others` is every other coin "
                                        "together"},
    "history": {Venue.BINANCE: "from Binance candles: price is the close (in USDT) of the candle ending at each "
                               "timestamp, market cap is not known there, and volume is in the base asset "
                               "(base_volume)",
                Venue.KUCOIN: "from KuCoin candles: price is the close (in USDT) of the candle ending at each "
                              "timestamp, market cap is not known there, and volume is in the base asset "
                              "(base_volume)"},
}


def noted(provenance: Provenance, endpoint: str) -> Provenance:
    """`provenance` with the note its answering source needs for this endpoint, if any."""
    note = NOTES.get(endpoint, {}).get(provenance.source)
    if note:
        provenance.notes.append(note)
    return provenance
