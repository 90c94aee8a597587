"""What routes share: the service state and the request body cap."""

from typing import Annotated

from fastapi import Depends, Request

from dm_shared.errors import PayloadTooLargeError

from ai_svc.service.state import AiState

# A predict body is under 200 bytes; anything near this is not a forecast request.
MAX_BODY_BYTES = 16_384


def get_state(request: Request) -> AiState:
    return request.app.state.ai


async def capped_body(request: Request) -> None:
    """PAYLOAD_TOO_LARGE for a body over the cap (the gateway refuses bigger ones before they arrive)."""
    declared = request.headers.get("content-length")
    if (declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES) or \
            len(await request.body()) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(details={"max_bytes": MAX_BODY_BYTES})


StateDep = Annotated[AiState, Depends(get_state)]
