"""What routes share: the service state and the request body cap."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from dm_shared.errors import PayloadTooLargeError

from ai_svc.service.state import AiState

# A predict body is under 200 bytes; anything near this is not a forecast request.
MAX_BODY_BYTES = 16_384


def get_state(request: Request) -> AiState:
    return request.app.state.ai


# Bodies with candles (spec 004's timeframe_data), feedback notes and prompts may be as large as the gateway forwards.
MAX_CANDLES_BODY_BYTES = 65_536


def capped_at(limit: int) -> Callable[[Request], Awaitable[None]]:
    """A dependency answering PAYLOAD_TOO_LARGE for a body over `limit` bytes (the gateway refuses bigger
    ones than 64 KiB before they arrive)."""

    async def capped(request: Request) -> None:
        declared = request.headers.get("content-length")
        if (declared is not None and declared.isdigit() and int(declared) > limit) or \
                len(await request.body()) > limit:
            raise PayloadTooLargeError(details={"max_bytes": limit})

    return capped


capped_body = capped_at(MAX_BODY_BYTES)
candle_body = capped_at(MAX_CANDLES_BODY_BYTES)


StateDep = Annotated[AiState, Depends(get_state)]
