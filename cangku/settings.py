"""Settings, all from environment variables prefixed CANGKU_ (see the README's table)."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from domain.printing import PrintLayoutError, parse_label_sizes

PREFIX = "CANGKU_"


class ConfigurationError(Exception):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Database:
    """Where events and views live, parsed from one URL."""

    url: str
    kind: str  # "sqlite" or "postgres"
    sqlite_events: str = ""
    sqlite_views: str = ""
    host: str = ""
    port: int = 5432
    dbname: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    schema: str = ""
    # A connection that stays idle inside a transaction this long is ended by the server, so no stuck client can
    # keep the events table locked.
    idle_in_transaction_timeout: int = 15

    @classmethod
    def from_url(cls, url: str, data_dir: Path, idle_in_transaction_timeout: int = 15) -> "Database":
        parts = urlsplit(url)
        if url == "memory:":
            return cls(url, "memory")
        if parts.scheme == "sqlite":
            path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
            if not path:
                raise ConfigurationError("a SQLite URL looks like sqlite:///path/to/cangku.sqlite")
            events = Path(path)
            if not events.is_absolute():
                events = Path.cwd() / events
            views = events.with_name(events.stem + "-views" + events.suffix)
            return cls(url, "sqlite", sqlite_events=str(events), sqlite_views=str(views))
        if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
            query = dict(parse_qsl(parts.query))
            schema = query.pop("schema", "")
            if not parts.path.strip("/"):
                raise ConfigurationError("a PostgreSQL URL names its database: postgresql://user@host:5432/dbname")
            return cls(
                url,
                "postgres",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                dbname=parts.path.strip("/"),
                user=parts.username or "postgres",
                password=parts.password or "",
                schema=schema,
                idle_in_transaction_timeout=idle_in_transaction_timeout,
            )
        raise ConfigurationError(
            f"CANGKU_DATABASE_URL must be sqlite:///path, postgresql://... or memory:, not {parts.scheme or url!r}"
        )

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's persistence settings for this database."""
        if self.kind == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": self.sqlite_events,
                    "SQLITE_LOCK_TIMEOUT": "10"}
        from adapters.event_store.postgres import RECORDER_TOPIC as BOUNDED_RECORDER_TOPIC

        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "20",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(self.idle_in_transaction_timeout),
            "APPLICATION_RECORDER_TOPIC": BOUNDED_RECORDER_TOPIC,
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def sqlalchemy_url(self) -> str:
        """The URL of the views database for SQLAlchemy."""
        if self.kind == "memory":
            return "sqlite://"
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_views}"
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{self.dbname}"

    def masked_url(self) -> str:
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.url


@dataclass(frozen=True)
class ShopSettings:
    """One marketplace shop to follow, with its open-platform credentials."""

    channel: str
    shop: str
    app_key: str = ""
    app_secret: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    url: str = ""
    sign_secret: str = field(default="", repr=False)
    waybill_account: dict = field(default_factory=dict, repr=False, compare=False)  # JD 无界: vendor_code, branch_code, ...


def shops_from_env(get) -> tuple[ShopSettings, ...]:
    shops = []
    for entry in filter(None, (e.strip() for e in get("SHOPS").split(","))):
        channel, _, shop = entry.partition(":")
        if not shop:
            raise ConfigurationError(f"CANGKU_SHOPS entries look like channel:shop, got {entry!r}")
        key = f"SHOP_{channel}_{shop}".upper().replace("-", "_")
        shops.append(ShopSettings(channel, shop, get(key + "_APP_KEY"), get(key + "_APP_SECRET"),
                                  get(key + "_ACCESS_TOKEN"), get(key + "_URL"), get(key + "_SIGN_SECRET"),
                                  waybill_account(get(key + "_WAYBILL_ACCOUNT"), key)))
    return tuple(shops)


WAYBILL_ACCOUNT_FIELDS = ("vendor_code", "vendor_name", "branch_code", "settlement_code", "template_url")


def waybill_account(text: str, key: str) -> dict:
    """A shop's e-waybill account on its marketplace (JD 无界: 商家编码, 网点编码, 结算编码, standard template URL)."""
    import json

    if not text:
        return {}
    try:
        account = json.loads(text)
    except ValueError:
        account = None
    if not isinstance(account, dict) or set(account) - set(WAYBILL_ACCOUNT_FIELDS) \
            or not all(isinstance(value, str) for value in account.values()):
        raise ConfigurationError(f"{PREFIX}{key}_WAYBILL_ACCOUNT must be a JSON object of text with any of "
                                 f"{', '.join(WAYBILL_ACCOUNT_FIELDS)}")
    return account


def time_zone(name: str, setting: str) -> str:
    """An IANA time zone name such as Asia/Shanghai; anything else is a configuration error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"{PREFIX}{setting}: {name!r} is not a time zone such as Asia/Shanghai") from None
    return name


def shop_time_zones(text: str) -> dict[tuple[str, str], str]:
    """CANGKU_SHOP_TIMEZONES: `channel:shop=Area/City` entries, comma-separated."""
    zones = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        shop, _, zone = entry.partition("=")
        channel, _, name = shop.strip().partition(":")
        if not (channel and name and zone.strip()):
            raise ConfigurationError(f"{PREFIX}SHOP_TIMEZONES entries look like taobao:flagship=Asia/Shanghai, "
                                     f"got {entry!r}")
        zones[(channel, name)] = time_zone(zone.strip(), "SHOP_TIMEZONES")
    return zones


PLATFORM_WAYBILL_CHANNELS = ("pinduoduo", "douyin", "jd")


def platform_waybills(text: str, shops: tuple["ShopSettings", ...]) -> tuple[tuple[str, str, str], ...]:
    """CANGKU_PLATFORM_WAYBILLS: `channel:shop=COURIER` entries, comma-separated: that shop's orders get e-waybills
    of that courier from the marketplace itself (Pinduoduo, Douyin, JD), which reads its own receiver ciphertexts."""
    found = []
    configured = {(shop.channel, shop.shop) for shop in shops}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        shop, _, courier = entry.partition("=")
        channel, _, name = shop.strip().partition(":")
        if not (channel and name and courier.strip()):
            raise ConfigurationError(f"{PREFIX}PLATFORM_WAYBILLS entries look like pinduoduo:flagship=YTO, "
                                     f"got {entry!r}")
        if channel not in PLATFORM_WAYBILL_CHANNELS:
            raise ConfigurationError(f"{PREFIX}PLATFORM_WAYBILLS: {channel!r} issues no e-waybills here; "
                                     f"one of {', '.join(PLATFORM_WAYBILL_CHANNELS)}")
        if (channel, name) not in configured:
            raise ConfigurationError(f"{PREFIX}PLATFORM_WAYBILLS: shop {channel}:{name} is not in {PREFIX}SHOPS")
        found.append((channel, name, courier.strip().upper()))
    return tuple(found)


COURIER_CODES = ("SF", "ZTO", "YTO", "CAINIAO", "KUAIDI100")


def couriers_from_env(env: dict[str, str]) -> dict[str, dict]:
    """Courier client settings: CANGKU_COURIER_<CODE> holds a JSON object of the client's arguments."""
    import json

    found = {}
    for code in COURIER_CODES:
        raw = env.get(f"{PREFIX}COURIER_{code}")
        if raw:
            try:
                found[code] = json.loads(raw)
            except ValueError:
                raise ConfigurationError(f"{PREFIX}COURIER_{code} must be a JSON object") from None
            if not isinstance(found[code], dict) or "base_url" not in found[code]:
                raise ConfigurationError(f"{PREFIX}COURIER_{code} must be a JSON object with a base_url")
    return found


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: Database
    broker_url: str = ""
    secret_key: str = field(default="", repr=False)
    cipher_key: str = field(default="", repr=False)
    printers: dict[str, str] = field(default_factory=dict)
    simulators: bool = True
    warehouse: str = "WH1"
    host: str = "127.0.0.1"
    port: int = 8000
    projection_batch: int = 2000
    shops: tuple[ShopSettings, ...] = ()
    pull_interval: float = 60.0
    queue_prefix: str = "cangku"
    hold_on_remark: bool = False
    sender: dict = field(default_factory=dict)
    label_sizes: dict = field(default_factory=dict)
    label_font: str = ""
    job_retries: dict = field(default_factory=dict)
    couriers: dict = field(default_factory=dict, repr=False)
    platform_waybills: tuple = ()
    business_timezone: str = "Asia/Shanghai"
    shop_timezones: dict = field(default_factory=dict)
    expiry_alert_days: int = 30

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default)

        data_dir = Path(get("DATA_DIR", "data")).expanduser()
        url = get("DATABASE_URL") or f"sqlite:///{data_dir / 'cangku.sqlite'}"
        printers = {
            key[len(PREFIX + "PRINTER_"):].lower(): value
            for key, value in env.items()
            if key.startswith(PREFIX + "PRINTER_")
        }
        try:
            port = int(get("PORT", "8000"))
            projection_batch = int(get("PROJECTION_BATCH", "2000"))
            idle_timeout = int(get("IDLE_IN_TRANSACTION_TIMEOUT", "15"))
            expiry_alert_days = int(get("EXPIRY_ALERT_DAYS", "30"))
            job_retries = {"min_backoff": int(get("JOB_MIN_BACKOFF_MS", "500")),
                           "max_backoff": int(get("JOB_MAX_BACKOFF_MS", "60000")),
                           "max_retries": int(get("JOB_MAX_RETRIES", "8"))}
        except ValueError:
            raise ConfigurationError(
                "CANGKU_PORT, CANGKU_PROJECTION_BATCH, CANGKU_IDLE_IN_TRANSACTION_TIMEOUT, CANGKU_EXPIRY_ALERT_DAYS and "
                "CANGKU_JOB_* settings "
                "must be whole numbers") from None
        try:
            label_sizes = parse_label_sizes(get("LABEL_SIZES"))
        except PrintLayoutError as error:
            raise ConfigurationError(f"CANGKU_LABEL_SIZES: {error}") from None
        shops = shops_from_env(get)
        return cls(
            data_dir=data_dir,
            label_sizes=label_sizes,
            label_font=get("LABEL_FONT"),
            database=Database.from_url(url, data_dir, idle_timeout),
            broker_url=get("BROKER_URL"),
            secret_key=get("SECRET_KEY"),
            cipher_key=get("CIPHER_KEY"),
            printers=printers,
            simulators=get("SIMULATORS", "1") not in ("0", "false", "no", "off"),
            warehouse=get("WAREHOUSE", "WH1"),
            host=get("HOST", "127.0.0.1"),
            port=port,
            projection_batch=projection_batch,
            shops=shops,
            platform_waybills=platform_waybills(get("PLATFORM_WAYBILLS"), shops),
            pull_interval=float(get("PULL_INTERVAL", "60")),
            queue_prefix=get("QUEUE_PREFIX", "cangku"),
            job_retries=job_retries,
            couriers=couriers_from_env(env),
            hold_on_remark=get("HOLD_ON_REMARK", "0") in ("1", "true", "yes", "on"),
            business_timezone=time_zone(get("BUSINESS_TIMEZONE", "Asia/Shanghai"), "BUSINESS_TIMEZONE"),
            shop_timezones=shop_time_zones(get("SHOP_TIMEZONES")),
            expiry_alert_days=min(max(expiry_alert_days, 0), 3650),
            sender={
                "name": get("SENDER_NAME", "仓库发货部"),
                "phone": get("SENDER_PHONE", "057188880000"),
                "province": get("SENDER_PROVINCE", "浙江省"),
                "city": get("SENDER_CITY", "杭州市"),
                "district": get("SENDER_DISTRICT", "余杭区"),
                "address": get("SENDER_ADDRESS", "仓前街道 1 号"),
            },
        )
