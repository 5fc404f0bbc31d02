"""Group commit: saves made at the same moment by several threads of one process share one transaction."""

import threading
from dataclasses import dataclass


class GroupCommit:
    """Saves made at the same moment by several threads of one process, recorded in one transaction.

    The event store serialises writers (PostgreSQL locks the events table for each insert, so that notification
    ids are committed in order), so a busy process queues on that lock once per batch instead of once per save.
    Each save stays atomic: when a batch fails (a version conflict in one of its saves), it is recorded again in
    halves, down to single saves, and only a save that fails on its own sees the error.
    """

    def __init__(self, events):
        self.events = events
        self.ready = threading.Condition()
        self.queue: list[_Waiting] = []
        self.writing = False

    def record(self, processing_event) -> list:
        waiting = _Waiting(processing_event.events)
        with self.ready:
            self.queue.append(waiting)
            while self.writing and not waiting.finished:
                self.ready.wait()
            if not waiting.finished:
                batch, self.queue, self.writing = self.queue, [], True
        if not waiting.finished:
            try:
                self._write(batch)
            finally:
                with self.ready:
                    self.writing = False
                    self.ready.notify_all()
        if waiting.error is not None:
            raise waiting.error
        return waiting.recordings

    def _write(self, batch: list["_Waiting"]) -> None:
        try:
            part: list[_Waiting] = []
            written: set = set()
            for waiting in batch:
                keys = {(e.originator_id, e.originator_version) for e in waiting.events}
                if written & keys:  # two saves of one version: the later one must fail on its own
                    self._put(part)
                    part, written = [], set()
                part.append(waiting)
                written |= keys
            self._put(part)
        finally:
            for waiting in batch:
                waiting.finished = True

    def _put(self, batch: list["_Waiting"]) -> None:
        """Record the batch in one transaction; when that fails, each half again, down to single saves."""
        if len(batch) == 1:
            try:
                batch[0].recordings = self.events.put(batch[0].events)
            except Exception as error:
                batch[0].error = error
            return
        try:
            recordings = self.events.put([e for waiting in batch for e in waiting.events])
        except Exception:
            middle = len(batch) // 2
            self._put(batch[:middle])
            self._put(batch[middle:])
            return
        for waiting in batch:
            waiting.recordings, recordings = recordings[:len(waiting.events)], recordings[len(waiting.events):]


@dataclass
class _Waiting:
    events: list
    recordings: list | None = None
    error: Exception | None = None
    finished: bool = False
