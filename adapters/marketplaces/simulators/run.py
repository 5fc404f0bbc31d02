"""Start all five simulators at once, seeded with demo orders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .base import CHINA, AppAccount, MarketplaceSimulator
from .douyin import DouyinSimulator
from .jd import JdSimulator
from .kuaishou import KuaishouSimulator
from .pinduoduo import PinduoduoSimulator
from .taobao import TaobaoSimulator

SIMULATORS: dict[str, type[MarketplaceSimulator]] = {
    sim.channel: sim for sim in (TaobaoSimulator, JdSimulator, PinduoduoSimulator, DouyinSimulator, KuaishouSimulator)
}


@dataclass
class RunningSimulators:
    """The five running simulators; stop() them when done."""

    simulators: dict[str, MarketplaceSimulator]

    @property
    def urls(self) -> dict[str, str]:
        return {channel: sim.url for channel, sim in self.simulators.items()}

    @property
    def credentials(self) -> dict[str, AppAccount]:
        return {channel: sim.credentials for channel, sim in self.simulators.items()}

    def stop(self) -> None:
        for sim in self.simulators.values():
            sim.stop()

    def __enter__(self) -> "RunningSimulators":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_all(orders: int = 200, *, since: datetime | None = None, seed: int = 7, host: str = "127.0.0.1",
            port: int = 0, shop: str = "demo-shop",
            uploaded: Mapping[str, Iterable[Mapping[str, Any]]] | None = None) -> RunningSimulators:
    """Start every simulator (port 0: free ports; otherwise port, port+1, …), each with `orders` demo orders
    modified over the six hours before now (or after `since`), plus any `uploaded` rows per channel."""
    start = since or datetime.now(CHINA).replace(microsecond=0) - timedelta(hours=6)
    running: dict[str, MarketplaceSimulator] = {}
    try:
        for offset, (channel, simulator) in enumerate(SIMULATORS.items()):
            sim = simulator(shop=shop, host=host, port=port + offset if port else 0)
            sim.seed(orders, start, start + timedelta(hours=6), seed=seed)
            sim.load_orders((uploaded or {}).get(channel, ()))
            running[channel] = sim.start()
    except BaseException:
        for sim in running.values():
            sim.stop()
        raise
    return RunningSimulators(running)
