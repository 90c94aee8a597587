"""The sandbox process: every upstream listener plus the control listener, in one event loop."""

import asyncio
import logging
from functools import partial

from sandbox import (
    binance,
    coingecko,
    coinmarketcap,
    coinpaprika,
    control,
    esplora,
    etherscan,
    kucoin,
    news,
    okx,
    openai,
    whale_alert,
)
from sandbox.binance_streams import StreamHub, binance_feeds
from sandbox.chainstate import BitcoinChain, ChainState
from sandbox.faults import FaultLayer, FaultStore, RequestCounter
from sandbox.fixtures import data_dir, load_json
from sandbox.history import History
from sandbox.listeners import Listener
from sandbox.ports import OFFSETS

logger = logging.getLogger("sandbox")

UPSTREAM_APPS = {"coingecko": coingecko.create_app, "binance": binance.create_app, "kucoin": kucoin.create_app,
                 "okx": okx.create_app, "coinmarketcap": coinmarketcap.create_app,
                 "whale_alert": whale_alert.create_app, "coinpaprika": coinpaprika.create_app,
                 "openai": openai.create_app}


def load_history() -> History:
    """Hourly BTC/ETH history and the recorded BTCUSDT 1m sample from the data folder."""
    folder = data_dir()
    return History.from_files(
        {"BTCUSDT": folder / "history" / "BTCUSDT_1h.csv", "ETHUSDT": folder / "history" / "ETHUSDT_1h.csv"},
        {"BTCUSDT": load_json("binance/klines_BTCUSDT_1m.json")},
    )


class Sandbox:
    """Owns the fault store, the request counter, the Binance stream hub, the mined Ethereum and Bitcoin chains and one
    listener per upstream."""

    def __init__(self, host: str, port_base: int, history: History | None = None, stream_rate: float = 1.0) -> None:
        self.history = history if history is not None else load_history()
        self.faults = FaultStore()
        self.counter = RequestCounter()
        self.llm_keys = openai.Keys()
        self.streams = StreamHub(binance_feeds(self.history), self.history.now_ms, stream_rate,
                                 silenced=partial(self.faults.silenced, "binance"))
        self.chain, self.bitcoin = ChainState(), BitcoinChain()
        self.news = news.NewsDesk()
        factories = {**UPSTREAM_APPS, "binance": partial(binance.create_app, streams=self.streams),
                     "etherscan": partial(etherscan.create_app, chain=self.chain),
                     "etherscan_fallback": partial(etherscan.create_app, chain=self.chain, path_chain_id=True),
                     "mempool": partial(esplora.create_app, chain=self.bitcoin),
                     "esplora": partial(esplora.create_app, chain=self.bitcoin),
                     "rss": lambda _: news.create_rss_app(self.news),
                     "cryptopanic": lambda _: news.create_cryptopanic_app(self.news),
                     "newsapi": lambda _: news.create_newsapi_app(self.news),
                     "alternative_me": lambda _: news.create_alternative_me_app(self.news),
                     "openai": partial(openai.create_app, keys=self.llm_keys)}
        self.upstreams: dict[str, Listener] = {
            name: Listener(name, FaultLayer(factory(self.history), name, self.faults, self.counter),
                           host, port_base + OFFSETS[name])
            for name, factory in factories.items()
        }
        self.control = Listener("control", control.create_app(self), host, port_base + OFFSETS["control"])

    def ports(self) -> dict[str, int]:
        """Port of every listener, control included."""
        return {"control": self.control.port, **{name: lst.port for name, lst in self.upstreams.items()}}

    async def sync_listeners(self) -> None:
        """Close the listeners of refused upstreams and reopen the others."""
        for name, listener in self.upstreams.items():
            if self.faults.refused(name):
                await listener.close()
            else:
                await listener.open()

    async def start(self) -> None:
        """Open every upstream listener, then the control one (so health means ready)."""
        for symbol in self.history.symbols:
            self.history.series(symbol, "1h")
        for listener in self.upstreams.values():
            await listener.open()
        await self.control.open()

    async def stop(self) -> None:
        """Stop every listener and stream producer."""
        await self.control.stop()
        await asyncio.gather(*(listener.stop() for listener in self.upstreams.values()))
        await self.streams.close()


async def serve(host: str, port_base: int, stop: asyncio.Event, stream_rate: float = 1.0) -> None:
    """Run the sandbox until stop is set."""
    sandbox = Sandbox(host, port_base, stream_rate=stream_rate)
    await sandbox.start()
    logger.info("sandbox ready: %s", sandbox.ports())
    try:
        await stop.wait()
    finally:
        await sandbox.stop()
