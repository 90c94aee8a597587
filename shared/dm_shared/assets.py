"""The canonical asset registry every service shares: one asset per ticker, with its name and CoinGecko id.

A ticker alone is ambiguous (on CoinGecko many coins share `btc`), so each asset's identity is pinned
here. Ids and names are CoinGecko's, as in its recorded /coins/markets page (top 40 by market cap).
Which venues list which pairs, under which native ids, comes from the exchanges' own market lists
(market-svc).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Asset:
    """One asset: its ticker, name and CoinGecko id."""

    symbol: str
    name: str
    coingecko_id: str


ASSETS: dict[str, Asset] = {a.symbol: a for a in (
    Asset("BTC", "Bitcoin", "bitcoin"), Asset("ETH", "Ethereum", "ethereum"), Asset("USDT", "Tether", "tether"),
    Asset("BNB", "BNB", "binancecoin"), Asset("XRP", "XRP", "ripple"), Asset("USDC", "USDC", "usd-coin"),
    Asset("STETH", "Lido Staked Ether", "staked-ether"), Asset("SOL", "Solana", "solana"),
    Asset("ADA", "Cardano", "cardano"), Asset("DOGE", "Dogecoin", "dogecoin"), Asset("TRX", "TRON", "tron"),
    Asset("TON", "Toncoin", "the-open-network"), Asset("MATIC", "Polygon", "matic-network"),
    Asset("DOT", "Polkadot", "polkadot"), Asset("LTC", "Litecoin", "litecoin"),
    Asset("WBTC", "Wrapped Bitcoin", "wrapped-bitcoin"), Asset("BCH", "Bitcoin Cash", "bitcoin-cash"),
    Asset("LINK", "Chainlink", "chainlink"), Asset("SHIB", "Shiba Inu", "shiba-inu"), Asset("DAI", "Dai", "dai"),
    Asset("AVAX", "Avalanche", "avalanche-2"), Asset("LEO", "LEO Token", "leo-token"),
    Asset("TUSD", "TrueUSD", "true-usd"), Asset("UNI", "Uniswap", "uniswap"), Asset("XLM", "Stellar", "stellar"),
    Asset("XMR", "Monero", "monero"), Asset("OKB", "OKB", "okb"), Asset("ETC", "Ethereum Classic", "ethereum-classic"),
    Asset("BUSD", "BUSD", "binance-usd"), Asset("ATOM", "Cosmos Hub", "cosmos"),
    Asset("HBAR", "Hedera", "hedera-hashgraph"),
    Asset("FIL", "Filecoin", "filecoin"), Asset("LDO", "Lido DAO", "lido-dao"),
    Asset("ICP", "Internet Computer", "internet-computer"), Asset("CRO", "Cronos", "crypto-com-chain"),
    Asset("QNT", "Quant", "quant-network"), Asset("MKR", "Maker", "maker"), Asset("APT", "Aptos", "aptos"),
    Asset("VET", "VeChain", "vechain"), Asset("MNT", "Mantle", "mantle"),
)}

# Quote currencies a concatenated symbol (BTCUSDT) may end with, longest first.
QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "DAI", "EUR", "BTC", "ETH", "BNB")
# USD stablecoins: a price against them is reported as USD, and labelled so.
USD_STABLECOINS = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI"})
