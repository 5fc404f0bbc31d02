"""The five marketplace simulators as a fixture, and clients of our own pointed at them."""

import pytest

from adapters.marketplaces.simulators.run import run_all


@pytest.fixture
def simulators():
    running = run_all(orders=0, shop="main")
    yield running
    running.stop()


def clients(simulators):
    return {(channel, "main"): sim.client() for channel, sim in simulators.simulators.items()}
