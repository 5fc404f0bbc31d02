"""The composition root: the one place that reads settings and builds the application, views and workers."""

import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from domain.application import Cangku
from projections.db import views_engine
from projections.inventory import InventoryProjection
from projections.tracking import ProjectionRunner

from .settings import Settings


@dataclass
class System:
    settings: Settings
    app: Cangku
    engine: Engine
    runners: dict[str, ProjectionRunner]
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def catch_up(self) -> None:
        """Bring every projection up to the end of the log (tests, CLI, after a command)."""
        for runner in self.runners.values():
            runner.catch_up()

    def start_followers(self, interval: float = 0.2) -> None:
        """Follow the log in background threads (for `serve`)."""
        for runner in self.runners.values():
            thread = threading.Thread(target=runner.run_forever, args=(self._stop, interval), daemon=True,
                                      name=f"projection-{runner.projection.name}")
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.engine.dispose()
        self.app.close()


def build(settings: Settings | None = None) -> System:
    """Build the system from settings (environment variables when none are given)."""
    settings = settings or Settings.from_env()
    database = settings.database
    if database.kind == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        from pathlib import Path

        Path(database.sqlite_events).parent.mkdir(parents=True, exist_ok=True)
    env = database.eventsourcing_env()
    if settings.cipher_key:
        env["BUYER_CIPHER_KEY"] = settings.cipher_key
    app = Cangku(env=env)
    engine = views_engine(database.sqlalchemy_url(), database.schema)
    batch = settings.projection_batch
    runners = {"inventory": ProjectionRunner(app, engine, InventoryProjection(), batch)}
    for runner in runners.values():
        runner.setup()
    return System(settings, app, engine, runners)
