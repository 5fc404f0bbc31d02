"""Local stand-ins for the five marketplaces, for tests and the demo."""

from .base import AppAccount, MarketplaceSimulator, SimOrder
from .douyin import DouyinSimulator
from .jd import JdSimulator
from .kuaishou import KuaishouSimulator
from .pinduoduo import PinduoduoSimulator
from .run import SIMULATORS, RunningSimulators, run_all
from .taobao import TaobaoSimulator

__all__ = [
    "AppAccount",
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
