"""Identity of the assets the aggregator sources know by id rather than by ticker."""

# CoinGecko ids of major assets. A ticker alone is ambiguous on CoinGecko (many coins share one),
# so only assets listed here are asked of it by symbol.
COINGECKO_IDS: dict[str, str] = {
    "BTC": "bitcoin", "ETH": "ethereum", "BNB": "binancecoin", "XRP": "ripple", "SOL": "solana",
    "ADA": "cardano", "DOGE": "dogecoin", "TRX": "tron", "DOT": "polkadot", "LTC": "litecoin",
    "BCH": "bitcoin-cash", "LINK": "chainlink", "AVAX": "avalanche-2", "XLM": "stellar", "ATOM": "cosmos",
    "UNI": "uniswap", "ETC": "ethereum-classic", "XMR": "monero", "TON": "the-open-network",
}

# Quote currencies CoinGecko prices in directly; USD stablecoins are served in USD and labelled so.
USD_STABLECOINS = {"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI"}
