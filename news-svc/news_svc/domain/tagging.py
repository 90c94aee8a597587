"""Which assets an article is about, and the categories that follow.

The dictionary is the suite's asset registry (`dm_shared.assets`): tickers and names, plus the few
nicknames headlines use. A mention counts as a whole word only ("SOL" is not in "solution"). Tickers and
names that are also ordinary words (LINK, DOT, UNI, ATOM, "Stellar", "Maker", "Quant" ...) count only as a
cashtag (`$LINK`) or next to crypto context ("LINK token", "Polkadot's DOT"). A source's own currency tags
(CryptoPanic's `currencies`) are a hint, not the truth: a hinted asset counts only if the text mentions it,
and a hint lets an ambiguous mention count without context.
"""

import re
from functools import lru_cache

from dm_shared.assets import ASSETS

NICKNAMES = {"ether": "ETH", "bitcoin": "BTC", "btc": "BTC", "eth": "ETH", "dogecoin": "DOGE", "xrp": "XRP",
             "solana": "SOL", "tron": "TRX", "toncoin": "TON", "polkadot": "DOT", "chainlink": "LINK"}
# Tickers that are also words or common abbreviations, upper-cased in headlines (DOT: the US transport
# department; ETC: et cetera; APT: a hacking group class).
AMBIGUOUS_TICKERS = {"LINK", "DOT", "UNI", "ATOM", "LEO", "FIL", "APT", "VET", "ETC", "CRO", "TON", "SOL", "MNT",
                     "QNT", "OKB", "DAI", "ICP"}
AMBIGUOUS_NAMES = {"stellar", "maker", "quant", "mantle", "polygon", "cosmos hub", "internet computer",
                   "dai", "tether", "cronos", "leo token", "aptos"}
CONTEXT = re.compile(r"\b(crypto\w*|tokens?|coins?|blockchains?|altcoins?|defi|staking|stablecoins?|"
                     r"wallets?|exchanges?|etfs?|mainnet|layer[- ]?[12]|network|protocol|btc|eth|bitcoin|"
                     r"ethereum|price|rall(y|ies)|surges?|soars?|plunges?|dips?|bulls?|bears?|airdrop|nft)\b",
                     re.IGNORECASE)
DEFI = re.compile(r"\b(defi|decentrali[sz]ed finance|dex(es)?|liquidity pools?|lending protocols?|yield farm\w*|"
                  r"uniswap|aave|curve finance|compound finance|makerdao|lido)\b", re.IGNORECASE)
NFT = re.compile(r"\b(nfts?|non-fungible|opensea|ordinals|inscriptions?)\b", re.IGNORECASE)
DEFI_ASSETS = {"UNI", "LDO", "MKR", "DAI"}
CATEGORIES = ("bitcoin", "ethereum", "defi", "nft")


@lru_cache(maxsize=1)
def _names() -> list[tuple[re.Pattern[str], str, bool]]:
    names = {a.name.lower(): a.symbol for a in ASSETS.values()} | NICKNAMES
    return [(re.compile(rf"(?<![\w$]){re.escape(name)}(?:'s|’s|s)?(?!\w)", re.IGNORECASE), symbol,
             name in AMBIGUOUS_NAMES)
            for name, symbol in sorted(names.items(), key=lambda kv: -len(kv[0]))]


_TICKER = re.compile(r"(?<![\w$])(\$?)([A-Z][A-Z0-9]{1,9})(?![\w])")
_CASHTAG = re.compile(r"(?<!\w)\$([A-Za-z][A-Za-z0-9]{1,9})\b")


def related_symbols(text: str, hints: list[str] = ()) -> list[str]:
    """Tickers of the registry's assets that `text` is about, in order of first mention."""
    found: dict[str, int] = {}
    hinted = {h.upper() for h in hints}
    has_context = bool(CONTEXT.search(text))
    shouting = sum(c.isupper() for c in text) > 0.6 * max(1, sum(c.isalpha() for c in text))
    for match in _CASHTAG.finditer(text):
        symbol = match.group(1).upper()
        if symbol in ASSETS:
            found.setdefault(symbol, match.start())
    if not shouting:
        for match in _TICKER.finditer(text):
            symbol = match.group(2)
            if symbol in ASSETS and (symbol not in AMBIGUOUS_TICKERS or has_context or symbol in hinted):
                found.setdefault(symbol, match.start())
    for pattern, symbol, ambiguous in _names():
        match = pattern.search(text)
        if not match:
            continue
        if ambiguous and not (match.group(0)[0].isupper() and (has_context or symbol in hinted)):
            continue
        found.setdefault(symbol, match.start())
    return sorted(found, key=found.get)


def categories(text: str, symbols: list[str]) -> list[str]:
    """The spec's categories an article falls in: bitcoin, ethereum, defi, nft."""
    chosen = []
    if "BTC" in symbols:
        chosen.append("bitcoin")
    if "ETH" in symbols:
        chosen.append("ethereum")
    if DEFI.search(text) or DEFI_ASSETS & set(symbols):
        chosen.append("defi")
    if NFT.search(text):
        chosen.append("nft")
    return chosen


def tags(source_categories: list[str], symbols: list[str]) -> list[str]:
    """The source's own categories and the names of the assets, lower-case, each once."""
    seen: dict[str, None] = {}
    for tag in [*source_categories, *(ASSETS[s].name for s in symbols)]:
        tag = tag.strip().lower()
        if tag and len(tag) <= 40:
            seen.setdefault(tag, None)
    return list(seen)[:12]
