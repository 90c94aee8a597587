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
    ETHERSCAN = "etherscan"
    # The second Etherscan-compatible explorer (its own API, keyless on its free plan).
    ROUTESCAN = "routescan"
    MEMPOOL = "mempool"
    # Blockstream's Esplora: the same API as mempool.space.
    ESPLORA = "esplora"
    WHALE_ALERT = "whale_alert"
    # chain-svc's own block scan, for whale alerts without a Whale Alert key.
    CHAIN_DETECTOR = "detector"
    RSS = "rss"
    CRYPTOPANIC = "cryptopanic"
    NEWSAPI = "newsapi"
    ALTERNATIVE_ME = "alternative_me"
