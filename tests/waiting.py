"""Waiting for asynchronous work (jobs, followers) in tests, with a bounded deadline."""

import time

FAST_RETRIES = {"min_backoff": 100, "max_backoff": 400, "max_retries": 30}


def until(condition, seconds=20.0, explain=lambda: ""):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting\n{explain()}")
        time.sleep(0.05)
