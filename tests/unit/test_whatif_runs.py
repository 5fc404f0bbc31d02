"""A what-if replay started from the back office runs in the background: asking again finds the same run, its
progress grows, and then its figures (or its refusal) are there."""

import threading

from domain.errors import InvalidInput
from scanner_ui.whatif_runs import Runs
from tests.waiting import until


def test_asking_again_finds_the_run_under_way_with_its_progress_then_its_figures():
    runs, release = Runs(), threading.Event()

    def work(progress):
        progress(400)
        release.wait(10)
        progress(600)
        return {"figures": "ready"}

    first = runs.start("month", 1000, work)
    until(lambda: first.done == 400)
    again = runs.start("month", 1000, work)
    running = again.running
    release.set()
    until(lambda: not first.running)

    assert again is first and running
    assert (first.done, first.total, first.report, first.refusal) == (1000, 1000, {"figures": "ready"}, "")


def test_a_refused_replay_says_why_and_another_question_starts_its_own_run():
    runs = Runs()

    def refused(progress):
        raise InvalidInput("unknown channel")

    bad = runs.start("bad", 10, refused)
    other = runs.start("other", 10, lambda progress: "fine")
    until(lambda: not bad.running and not other.running)

    assert bad.refusal == "unknown channel" and bad.report is None
    assert other is not bad and other.report == "fine"
