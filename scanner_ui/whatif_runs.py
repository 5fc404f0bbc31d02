"""What-if replays started from the back office: each runs in a thread of this server process, keyed by what was
asked, so the page can show its progress and then its figures; a finished one is kept a few minutes."""

import logging
import threading
import time
from typing import Callable

from domain.errors import DomainError

log = logging.getLogger("cangku.whatif")

KEEP_SECONDS = 600
MOST_KEPT = 8


class Run:
    def __init__(self, total: int):
        self.total, self.done = total, 0
        self.report = None
        self.refusal = ""
        self.finished_at: float | None = None
        self.work: Callable | None = None

    @property
    def running(self) -> bool:
        return self.finished_at is None

    def advanced(self, events: int) -> None:
        self.done = min(self.done + events, self.total)


class Runs:
    """The replays of this process, the newest few kept."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs: dict[str, Run] = {}

    def start(self, key: str, total: int, work: Callable[[Callable[[int], None]], object]) -> Run:
        """The run asked for with this key: the one under way or lately finished, else a new one started."""
        with self.lock:
            now = time.monotonic()
            for old in [k for k, r in self.runs.items() if r.finished_at and now - r.finished_at > KEEP_SECONDS]:
                del self.runs[old]
            run = self.runs.get(key)
            if run is None:
                run = self.runs[key] = Run(total)
                run.work = work  # holds what it reads while kept, so a key naming an object by its id stays unique
                while len(self.runs) > MOST_KEPT:
                    del self.runs[next(iter(self.runs))]
                threading.Thread(target=self._work, args=(run, work), name="what-if", daemon=True).start()
            return run

    @staticmethod
    def _work(run: Run, work) -> None:
        try:
            run.report = work(run.advanced)
        except DomainError as refused:
            run.refusal = str(refused)
        except Exception:  # the page says it failed; the log has why
            log.exception("a what-if replay failed")
            run.refusal = "the replay failed; the server log says why"
        finally:
            run.finished_at = time.monotonic()
