"""Local stand-ins for the courier platforms, so tests and the demo need no accounts and no internet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from adapters.couriers.base import Clock, CourierClient, TrackingClient
from adapters.couriers.simulators.cainiao import CainiaoSimulator
from adapters.couriers.simulators.common import CourierSimulator, Fate, ManualClock, Received
from adapters.couriers.simulators.kuaidi100 import Kuaidi100Simulator
from adapters.couriers.simulators.sf import SFSimulator
from adapters.couriers.simulators.yto import YTOSimulator
from adapters.couriers.simulators.zto import ZTOSimulator

__all__ = [
    "CainiaoSimulator", "CourierSimulator", "Fate", "Kuaidi100Simulator", "ManualClock", "Received",
    "SFSimulator", "SimulatorSet", "YTOSimulator", "ZTOSimulator", "run_all",
]


@dataclass
class SimulatorSet:
    """Every courier simulator, started together; Kuaidi100 tracks what the others issue."""

    sf: SFSimulator
    zto: ZTOSimulator
    yto: YTOSimulator
    cainiao: CainiaoSimulator
    kuaidi100: Kuaidi100Simulator

    def all(self) -> list[CourierSimulator]:
        return [self.sf, self.zto, self.yto, self.cainiao, self.kuaidi100]

    def stop(self) -> None:
        for sim in self.all():
            sim.stop()

    def __enter__(self) -> "SimulatorSet":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def tracker(self, **kwargs: Any) -> TrackingClient:
        """A Kuaidi100 client holding the simulator's credentials."""
        from adapters.couriers.kuaidi100 import Kuaidi100Client
        return Kuaidi100Client(self.kuaidi100.url, self.kuaidi100.customer, self.kuaidi100.key, **kwargs)

    def clients(self, *, cainiao_cp_code: str = "YTO", **kwargs: Any) -> dict[str, CourierClient]:
        """One real client per courier, pointed at these simulators with matching credentials."""
        from adapters.couriers.cainiao import CainiaoClient
        from adapters.couriers.sf import SFExpressClient
        from adapters.couriers.yto import YTOClient
        from adapters.couriers.zto import ZTOClient

        return {
            "SF": SFExpressClient(self.sf.url, self.sf.partner_id, self.sf.checkword,
                                  monthly_card="7551234567", **kwargs),
            "ZTO": ZTOClient(self.zto.url, self.zto.app_key, self.zto.app_secret, account_id=self.zto.account_id,
                             account_password=self.zto.account_password, **kwargs),
            "YTO": YTOClient(self.yto.url, self.yto.app_id, self.yto.customer_code, self.yto.secret,
                             track_user_id=self.yto.track_user_id, track_secret=self.yto.track_secret, **kwargs),
            "CAINIAO": CainiaoClient(self.cainiao.url, self.cainiao.app_key, self.cainiao.app_secret,
                                     self.cainiao.session, cp_code=cainiao_cp_code, tracker=self.tracker(**kwargs),
                                     **kwargs),
        }


def run_all(*, clock: Clock | None = None, step: timedelta = timedelta(hours=4),
            seed: int | None = None) -> SimulatorSet:
    """Start the SF, ZTO, YTO, Cainiao and Kuaidi100 simulators on free local ports."""
    options = {"clock": clock, "step": step, "seed": seed}
    sims = SimulatorSet(SFSimulator(**options), ZTOSimulator(**options), YTOSimulator(**options),
                        CainiaoSimulator(**options), Kuaidi100Simulator(**options))
    sims.kuaidi100.follow(sims.sf, sims.zto, sims.yto, sims.cainiao)
    try:
        for sim in sims.all():
            sim.start()
    except Exception:
        sims.stop()
        raise
    return sims
