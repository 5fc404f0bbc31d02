"""Scratch databases: somewhere to rebuild views or restore a log without touching the live ones."""

import tempfile
import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import Engine

from projections.db import views_engine

from .settings import Database, Settings


def conninfo(url: str) -> str:
    """A psycopg connection string for a PostgreSQL URL (its schema left out)."""
    base = Settings.from_env({"CANGKU_DATABASE_URL": url}).database
    password = f" password={base.password}" if base.password else ""
    return f"host={base.host} port={base.port} dbname={base.dbname} user={base.user}{password}"


def fresh_schema(url: str, prefix: str = "scratch") -> str:
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def scratch_database(postgres_url: str, folder: str) -> Iterator[str]:
    """A database URL for one run: a fresh schema on the given PostgreSQL (dropped afterwards), else SQLite."""
    if not postgres_url:
        yield f"sqlite:///{folder}/cangku.sqlite"
        return
    schema = fresh_schema(postgres_url)
    try:
        yield f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema={schema}"
    finally:
        drop_schema(postgres_url, schema)


@contextmanager
def scratch_views(database: Database) -> Iterator[Engine]:
    """An empty views database beside the live one (a temporary SQLite file, or a fresh PostgreSQL schema in the
    same database), removed afterwards."""
    if database.kind != "postgres":
        with tempfile.TemporaryDirectory(prefix="cangku-scratch-") as folder:
            engine = views_engine(f"sqlite:///{folder}/views.sqlite")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    schema = fresh_schema(database.url)
    engine = views_engine(database.sqlalchemy_url(), schema, database.idle_in_transaction_timeout)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_schema(database.url, schema)
