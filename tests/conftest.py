"""Shared fixtures: real services when present, and a hard failure in CI when they are not.

Set CANGKU_REQUIRE_SERVICES=1 (as .ci/run does) to turn every "service not available" skip into a failure.
"""

import os
import socket
import time
import uuid

import pytest

pytest_plugins = ["tests.printer_server", "tests.marketplaces"]

REQUIRE_SERVICES = os.environ.get("CANGKU_REQUIRE_SERVICES") == "1"
POSTGRES_HOST = os.environ.get("CANGKU_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("CANGKU_TEST_POSTGRES_PORT", "5432"))
POSTGRES_DB = os.environ.get("CANGKU_TEST_POSTGRES_DB", "test")
RABBITMQ_URL = os.environ.get("CANGKU_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
CHROMIUM = os.environ.get("CANGKU_TEST_CHROMIUM", "/usr/bin/chromium")


def service_missing(what: str) -> None:
    """Skip the test, or fail it when services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (CANGKU_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def port_open(host: str, port: int, tries: int = 5) -> bool:
    """Whether a service listens there. Asked a few times: with three test processes busy, a broker that is up can
    be slow to accept one connection, and a slow answer is not a missing service."""
    for attempt in range(tries):
        try:
            with socket.create_connection((host, port), timeout=2):
                return True
        except OSError:
            if attempt + 1 < tries:
                time.sleep(0.5)
    return False


@pytest.fixture
def postgres_url():
    """A database URL pointing at a fresh, empty PostgreSQL schema, dropped afterwards."""
    if not port_open(POSTGRES_HOST, POSTGRES_PORT):
        service_missing(f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = f"host={POSTGRES_HOST} port={POSTGRES_PORT} dbname={POSTGRES_DB} user=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{POSTGRES_DB}?schema={schema}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def rabbitmq_url():
    """The URL of the real RabbitMQ broker."""
    if not port_open("127.0.0.1", 5672):
        service_missing("RabbitMQ at 127.0.0.1:5672")
    return RABBITMQ_URL


@pytest.fixture
def queue_prefix(rabbitmq_url):
    """A prefix for this test's own job queues on RabbitMQ; the queues are deleted afterwards."""
    import pika

    prefix = f"test-{uuid.uuid4().hex[:8]}"
    yield prefix
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    channel = connection.channel()
    for queue in ("printing", "channels", "couriers"):
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(f"{prefix}-{queue}{suffix}")
    connection.close()


@pytest.fixture(scope="session")
def chromium_path():
    """Path of Debian's Chromium for Playwright."""
    if not os.path.exists(CHROMIUM):
        service_missing(f"Chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cangku.sqlite'}"


@pytest.fixture
def make_system(tmp_path):
    """Build systems on a database URL (closed after the test)."""
    from cangku.bootstrap import build
    from cangku.settings import Settings

    built = []

    def make(url: str = "memory:", **env):
        environ = {"CANGKU_DATA_DIR": str(tmp_path), "CANGKU_DATABASE_URL": url}
        environ.update({f"CANGKU_{k.upper()}": v for k, v in env.items()})
        system = build(Settings.from_env(environ))
        built.append(system)
        return system

    yield make
    for system in built:
        system.close()
