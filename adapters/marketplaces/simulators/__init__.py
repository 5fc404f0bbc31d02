"""Local stand-ins for the five marketplaces, for tests and the demo."""

from .base import MarketplaceSimulator, SimOrder
from .douyin import DouyinSimulator
from .jd import JdSimulator
from .kuaishou import KuaishouSimulator
from .pinduoduo import PinduoduoSimulator
from .run import RunningSimulators, run_all
from .taobao import TaobaoSimulator

SIMULATORS: dict[str, type[MarketplaceSimulator]] = {
    sim.channel: sim for sim in (TaobaoSimulator, JdSimulator, PinduoduoSimulator, DouyinSimulator, KuaishouSimulator)
}

__all__ = [
    "SIMULATORS",
    "DouyinSimulator",
    "JdSimulator",
    "KuaishouSimulator",
    "MarketplaceSimulator",
    "PinduoduoSimulator",
    "RunningSimulators",
    "SimOrder",
    "TaobaoSimulator",
    "run_all",
]
