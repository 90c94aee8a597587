"""The whale detector: one poller per chain for the whole deployment (a lease in NATS), reading each new
block (a Bitcoin block page by page, resuming where it stopped) and keeping transfers worth at least
`whale_min_usd` at market-svc's price. An alert is stored
first (unique by chain and hash) and published only when it was new, with a Nats-Msg-Id, so two
replicas, a takeover or a rescan never publish it twice."""

import asyncio
import logging
from decimal import Decimal

from dm_shared.bus import Publisher
from dm_shared.names import Provider
from dm_shared.subjects import WHALES, whale_subject

from chain_svc.domain.blocks import Block, BlockTransfer
from chain_svc.domain.chains import CHAINS, Chain
from chain_svc.domain.labels import Labels
from chain_svc.domain.types import WhaleAlert
from chain_svc.domain.units import to_coin
from chain_svc.domain.whales import classify, labelled, usd
from chain_svc.service.blocks import readers
from chain_svc.service.messages import to_message
from chain_svc.service.store import AlertStore
from chain_svc.sources import Sources

log = logging.getLogger("chain.detector")


def alerts_of(block: Block, chain: Chain, *, price: Decimal, min_usd: Decimal, labels: Labels) -> list[WhaleAlert]:
    """The transfers of `block` worth `min_usd` or more at `price`, as alerts."""
    kept = []
    for transfer in block.transfers:
        amount = to_coin(transfer.units, chain.decimals)
        value = usd(amount, price)
        if transfer.units == 0 or value < min_usd:
            continue
        kept.append(to_alert(transfer, block, chain, amount=amount, value=value, price=price, labels=labels))
    return kept


def to_alert(transfer: BlockTransfer, block: Block, chain: Chain, *, amount: Decimal, value: Decimal,
             price: Decimal, labels: Labels) -> WhaleAlert:
    """One transfer as an alert, its ends labelled with their owners."""
    receiver = transfer.to or "contract creation"
    from_owner, to_owner = labels.owner(chain.name, transfer.sender), labels.owner(chain.name, transfer.to)
    return WhaleAlert(
        id=f"whale_{chain.name}_{transfer.hash}", timestamp=block.timestamp, hash=transfer.hash,
        sender=labelled(transfer.sender, from_owner), to=labelled(receiver, to_owner),
        from_address=transfer.sender, to_address=receiver, from_owner=from_owner.name if from_owner else None,
        to_owner=to_owner.name if to_owner else None, amount=float(amount), token=chain.coin,
        usd_value=float(value), price_usd=float(price), chain=chain.name,
        type=classify(transfer.sender, receiver, from_owner, to_owner), block=block.number,
        source=Provider.CHAIN_DETECTOR)


class Detector:
    """Scans the chains this replica holds the lease of."""

    def __init__(self, sources: Sources, store: AlertStore, publisher: Publisher, labels: Labels, *,
                 min_usd: float, poll_seconds: float, max_blocks: int):
        self.sources, self.store, self.publisher, self.labels = sources, store, publisher, labels
        self._readers = readers(sources)
        self.min_usd, self.poll_seconds, self.max_blocks = Decimal(str(min_usd)), poll_seconds, max_blocks
        self._tasks: dict[str, asyncio.Task] = {}
        self.heads: dict[str, int] = {}
        self.found = 0
        self.last_error: str | None = None

    @property
    def chains(self) -> list[str]:
        """The chains this replica scans now."""
        return sorted(self._tasks)

    async def hold(self, chains: set[str]) -> None:
        """Scan exactly `chains` (the lease callback): stop the others first."""
        for name in set(self._tasks) - chains:
            task = self._tasks.pop(name)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for name in chains - set(self._tasks):
            await self.publisher.sequencer.resume(("whale", name), WHALES, whale_subject(name))
            self._tasks[name] = asyncio.create_task(self._poll(CHAINS[name]), name=f"detector-{name}")

    async def stop(self) -> None:
        await self.hold(set())

    async def _poll(self, chain: Chain) -> None:
        while True:
            try:
                await self.scan(chain)
                self.last_error = None
            except Exception as exc:  # an explorer or the store failing: logged, tried again next round
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                log.warning("scan of %s failed: %s", chain.name, self.last_error)
            await asyncio.sleep(self.poll_seconds)

    async def scan(self, chain: Chain) -> None:
        """Read the blocks mined since the last scan (at most `max_blocks`) and keep their whales."""
        reader = self._readers[chain.family]
        head = await reader.head(chain)
        self.heads[chain.name] = head
        cursor = await self.store.cursor(chain.name)
        if cursor is None:  # first run: start from the newest block, do not scan history
            await self.store.scanned(chain.name, head - 1)
            cursor = (head - 1, 0)
        last, start = cursor
        for number in range(last + 1, min(head, last + self.max_blocks) + 1):
            while True:
                read = await reader.page(chain, number, start)
                if read is None:
                    return
                block, start = read
                await self._keep_whales(block, chain)
                if start is None:
                    break
                await self.store.progress(chain.name, number - 1, start)
            start = 0
            await self.store.scanned(chain.name, number)

    async def _keep_whales(self, block: Block, chain: Chain) -> None:
        if not any(t.units for t in block.transfers):
            return
        price, _ = await self.sources.market.price(chain.coin)
        for alert in alerts_of(block, chain, price=price, min_usd=self.min_usd, labels=self.labels):
            await self._keep(alert)

    async def _keep(self, alert: WhaleAlert) -> None:
        if not await self.store.add(alert):
            return  # stored (and published) before
        self.found += 1
        message = to_message(alert)
        await self.publisher.publish(whale_subject(alert.chain), message, key=("whale", alert.chain),
                                     stream=WHALES, msg_id=message.dedup_id)
