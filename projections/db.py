"""The views database (SQLAlchemy engine), on SQLite or PostgreSQL."""

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool


def views_engine(url: str, schema: str = "", idle_in_transaction_timeout: int = 15) -> Engine:
    """An engine for the views; on PostgreSQL confined to a schema when one is given, and ended by the server
    when it stays idle inside a transaction longer than the timeout (seconds)."""
    if url == "sqlite://":
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Views rewrite the same index pages batch after batch: a larger page cache and fewer, larger
            # checkpoints (up to 64 MB of log) write each page back once instead of after every batch.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA wal_autocheckpoint=16384")
            cursor.close()

        return engine
    options = f"-c idle_in_transaction_session_timeout={idle_in_transaction_timeout * 1000}"
    connect_args = {"options": options + (f" -c search_path={schema}" if schema else "")}
    return create_engine(url, connect_args=connect_args, pool_size=5, max_overflow=10, pool_pre_ping=True)
