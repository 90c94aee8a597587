"""What routes share: the sources dependency and parameter types."""

from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request

from market_svc.domain.market import CURRENCY_SPELLINGS
from market_svc.sources import Sources


def get_sources(request: Request) -> Sources:
    return request.app.state.sources


SourcesDep = Annotated[Sources, Depends(get_sources)]
UnixMs = Annotated[int | None, Query(ge=0, le=10**13, description="Unix time in milliseconds")]
SymbolPath = Annotated[str, Path(
    min_length=1, max_length=32,
    description="An asset (BTC) or a pair in any usual spelling: BTC/USDT, BTC-USDT, BTCUSDT")]
Currency = Annotated[Literal[CURRENCY_SPELLINGS], Query(description="Quote currency (CoinGecko's codes, either case), "
                                                                  "e.g. usd, eur")]
