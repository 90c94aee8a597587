"""Where the whale scan reads blocks, per chain family, each through its explorers in order: EVM chains
through Etherscan's proxy module (a block with every transaction in one call), Bitcoin through Esplora
(a block's transactions 25 per page)."""

from collections.abc import Awaitable, Callable
from typing import Any

from chain_svc.adapters.esplora import PAGE
from chain_svc.domain.blocks import Block
from chain_svc.domain.chains import Chain
from chain_svc.sources import Sources


async def first_answer(adapters: list[Any], call: Callable[[Any], Awaitable[Any]]) -> Any:
    """The answer of the first explorer that gives one; the last one's error when none does."""
    error: Exception | None = None
    for adapter in adapters:
        try:
            return await call(adapter)
        except Exception as exc:  # the next explorer is the remedy
            error = exc
    raise error


class EvmBlocks:
    """Blocks of an EVM chain, whole: one page each."""

    def __init__(self, sources: Sources):
        self.adapters = sources.evm

    async def head(self, chain: Chain) -> int:
        """The newest block number."""
        return await first_answer(self.adapters, lambda a: a.fetch_block_number(chain))

    async def page(self, chain: Chain, number: int, start: int) -> tuple[Block, int | None] | None:
        """Block `number` and None (no further page); None when it is not mined yet."""
        block = await first_answer(self.adapters, lambda a: a.fetch_block(chain, number))
        return None if block is None else (block, None)


class BitcoinBlocks:
    """Blocks of Bitcoin, a page of 25 transactions at a time."""

    def __init__(self, sources: Sources):
        self.adapters = sources.bitcoin

    async def head(self, chain: Chain) -> int:
        """The newest block height."""
        return await first_answer(self.adapters, lambda a: a.fetch_tip_height())

    async def page(self, chain: Chain, number: int, start: int) -> tuple[Block, int | None] | None:
        """The transactions of block `number` from index `start`, and where the next page starts (None: done)."""
        info = await first_answer(self.adapters, lambda a: a.fetch_block_info(number))
        if info is None:
            return None
        block_id, timestamp, count = info
        transfers = await first_answer(self.adapters, lambda a: a.fetch_block_page(block_id, start))
        following = start + PAGE
        return Block(number, timestamp, transfers), (following if following < count and transfers else None)


def readers(sources: Sources) -> dict[str, Any]:
    """The block reader of each chain family."""
    return {"evm": EvmBlocks(sources), "bitcoin": BitcoinBlocks(sources)}
