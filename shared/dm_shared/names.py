"""Names of the upstreams and venues the suite reads, as every service, log, metric and response spells them.

Plain strings (not an Enum): they are dict keys in JSON bodies and labels in metrics as they are.
"""


class Venue:
    """Exchanges (ccxt ids)."""

    BINANCE = "binance"
    KUCOIN = "kucoin"
    OKX = "okx"


class Provider:
    """Data providers that are not exchanges."""

    COINGECKO = "coingecko"
    COINMARKETCAP = "coinmarketcap"
    COINPAPRIKA = "coinpaprika"
