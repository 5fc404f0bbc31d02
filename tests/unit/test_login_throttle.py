"""The login throttle on its own: failures counted per key, attempts in flight counted as failures."""

from datetime import datetime, timedelta, timezone

import pytest

from scanner_ui.throttle import LoginThrottle

START = datetime(2026, 11, 11, 6, 30, tzinfo=timezone.utc)
KEYS = ("badge:S1", "device:desk-1")


@pytest.fixture
def staff(make_system):
    return make_system("memory:").app.staff


def test_parallel_guesses_cannot_pass_the_limit_while_the_first_are_being_checked(staff):
    throttle = LoginThrottle(5, timedelta(minutes=15), lambda: START, staff)

    answers = [throttle.begin(KEYS) for _ in range(30)]

    assert answers[:5] == [None] * 5 and answers[5:] == [START + timedelta(minutes=15)] * 25


def test_the_lockout_runs_from_the_failure_that_reached_the_limit(staff):
    now = [START]
    throttle = LoginThrottle(5, timedelta(minutes=15), lambda: now[0], staff)
    for minute in range(5):
        now[0] = START + timedelta(minutes=minute * 2)
        throttle.begin(KEYS)
        throttle.failed(KEYS)

    now[0] = START + timedelta(minutes=20)
    still = throttle.begin(KEYS)
    now[0] = START + timedelta(minutes=23)
    free = throttle.begin(KEYS)

    assert still == START + timedelta(minutes=23) and free is None


def test_failures_older_than_the_period_are_forgotten(staff):
    now = [START]
    throttle = LoginThrottle(5, timedelta(minutes=15), lambda: now[0], staff)
    for _ in range(4):
        throttle.begin(KEYS)
        throttle.failed(KEYS)
    now[0] = START + timedelta(minutes=16)

    answers = []
    for _ in range(4):
        answers.append(throttle.begin(KEYS))
        throttle.failed(KEYS)

    assert answers == [None] * 4


def test_an_attempt_that_checked_no_pin_does_not_count(staff):
    throttle = LoginThrottle(2, timedelta(minutes=15), lambda: START, staff)
    for _ in range(5):
        throttle.begin(KEYS)
        throttle.abandoned(KEYS)

    assert throttle.begin(KEYS) is None
