"""The suite's own market types. Adapters map upstream payloads into these, in one place each; the
services compose them into answers, and the OpenAPI document shows them as they are."""

from pydantic import Field

from dm_shared.schemas import Model


class MarketItem(Model):
    """One coin of the market list."""

    symbol: str
    name: str | None
    id: str | None = Field(description="CoinGecko id (CoinMarketCap slug from that source), when known")
    rank: int | None
    price: float | None
    change_24h: float | None = Field(description="Price change over 24 hours, percent")
    change_7d: float | None = Field(description="Price change over 7 days, percent")
    volume_24h: float | None = Field(description="24 hour volume in the list's currency")
    market_cap: float | None
    circulating_supply: float | None
    total_supply: float | None
    ath: float | None
    ath_date: str | None
    atl: float | None
    atl_date: str | None
    last_updated: str | None


class Ticker(Model):
    """A venue's 24 hour ticker of one pair."""

    symbol: str
    bid: float | None
    ask: float | None
    last: float
    volume: float | None = Field(description="24 hour volume in the quote currency")
    base_volume: float | None = Field(description="24 hour volume in the base asset")
    change_24h: float | None = Field(description="Price change over 24 hours, percent")
    high_24h: float | None
    low_24h: float | None
    exchange_timestamp: int | None = Field(description="The venue's own time of the ticker, unix ms")


class Quote(Model):
    """One source's price of a pair, as the consensus weighs it."""

    price: float
    timestamp: int | None = Field(description="The source's own time of the price, unix ms")
    change_24h: float | None = None
    high_24h: float | None = None
    low_24h: float | None = None
    volume_24h: float | None = Field(None, description="24 hour volume in the quote currency")


class OrderBook(Model):
    """Best bids and asks, best first, as [price, amount]."""

    symbol: str
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    exchange_timestamp: int | None


class Trade(Model):
    """One public trade."""

    id: str | None
    timestamp: int | None
    price: float
    amount: float = Field(description="In the base asset")
    side: str | None
    type: str | None
    taker_or_maker: str | None


class Candle(Model):
    """One candle, stamped with its open time (unix ms)."""

    t: int
    o: float
    h: float
    l: float  # noqa: E741 (the spec's field name)
    c: float
    v: float | None = Field(description="Volume in the base asset; null where the source has none")


class TradingRules(Model):
    """A spot pair's trading limits and fees on a venue."""

    symbol: str
    base: str | None
    quote: str | None
    active: bool | None
    min_amount: float | None
    max_amount: float | None
    min_price: float | None
    max_price: float | None
    maker_fee: float | None
    taker_fee: float | None


class Funding(Model):
    """Current funding of a perpetual swap."""

    funding_rate: float = Field(description="The rate charged at funding_time, as a fraction (0.0001 = 0.01 %)")
    funding_time: int | None = Field(description="When funding_rate is charged, unix ms")
    next_funding_time: int | None = Field(description="The funding time after that, where the venue says, unix ms")
    interval: str | None = Field(description="Time between fundings, e.g. 8h, where the venue says")
    mark_price: float | None
    index_price: float | None
    exchange_timestamp: int | None


class OpenInterest(Model):
    """Open interest of a perpetual swap, in the base asset whatever the venue counts it in."""

    open_interest: float | None = Field(description="Open positions in the base asset (`unit`), not contracts")
    open_interest_value: float | None = Field(description="Their value in `value_currency`, where the venue says")
    unit: str = Field(description="The base asset open_interest is counted in, e.g. BTC")
    value_currency: str | None = Field(description="The currency of open_interest_value, e.g. USDT or USD")
    exchange_timestamp: int | None


class GlobalMarket(Model):
    """Market-wide totals as a data provider publishes them (in USD); what a provider does not publish is None,
    and `market_cap_percentage` holds only the coins it breaks out."""

    total_market_cap: float | None
    total_volume_24h: float | None
    market_cap_percentage: dict[str, float] = Field(description="Share of the total market cap by lower-case ticker")
    market_cap_change_24h: float | None = Field(description="Change of the total market cap over 24 hours, percent")
    volume_change_24h: float | None = Field(None, description="Change of the 24 hour volume over 24 hours, percent")
    active_cryptocurrencies: int | None
    markets: int | None = Field(description="How many exchanges the provider tracks")
    updated_at: int | None = Field(description="When the provider last updated these figures, unix seconds")


class Chart(Model):
    """Price, market cap and volume observations over time, each [unix ms, value]."""

    prices: list[tuple[int, float]]
    market_caps: list[tuple[int, float]]
    total_volumes: list[tuple[int, float]]
