"""What routes share: the sources and the alert store."""

from typing import Annotated

from fastapi import Depends, Request

from chain_svc.service.store import AlertStore
from chain_svc.sources import Sources


def get_sources(request: Request) -> Sources:
    return request.app.state.sources


def get_store(request: Request) -> AlertStore | None:
    return request.app.state.store


SourcesDep = Annotated[Sources, Depends(get_sources)]
StoreDep = Annotated[AlertStore | None, Depends(get_store)]
