"""The replica holding the generator lease makes signals (the generator) and spec 004's periodic analyses
(the runner): one of each per deployment. They start when the lease comes and stop before it goes."""

import asyncio

from dm_shared.bus import Publisher

from ai_svc.service.generator import Generator
from ai_svc.service.runner import Runner
from ai_svc.service.state import AiState


class Leader:
    """Starts the generator and the runner when this replica gets the lease and stops them when it gives it back."""

    def __init__(self, state: AiState, publisher: Publisher):
        self.state, self.publisher = state, publisher
        self.generator: Generator | None = None
        self.runner: Runner | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def leading(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def on_change(self, held: set[str]) -> None:
        if held and not self.leading:
            self.generator = Generator(self.state, self.publisher)
            self.runner = Runner(self.state, self.publisher)
            self._tasks = [asyncio.create_task(self.generator.run(), name="signal-generator"),
                           asyncio.create_task(self.runner.run(), name="analysis-runner")]
        elif not held:
            await self.stop()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
