"""The composition root: the one place that reads settings and builds the application, views and workers."""

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import dramatiq
from sqlalchemy.engine import Engine

from adapters.barcodes import gtin_forms, lot_of
from adapters.event_store.store import CachedEventStore
from domain.printing import sender_contact
from domain.services import Cangku
from projections import (after_sales, audit, catalogue, crm, dropship, finance, lots, order_desk, orders_board,
                         purchasing, replenishment, transfers)
from projections.actors import ActorIndexProjection
from projections.channel_stock import ChannelStockProjection
from projections.backoffice import business_calendar
from projections.db import views_engine
from projections.inventory import InventoryProjection
from projections.review import presale_orders
from projections.parcels import ParcelsProjection
from projections.scanning import ScanningProjection
from projections.tracking import ProjectionRunner
from projections.unmapped_skus import UnmappedSkusProjection, waiting_by_merchant_code, waiting_orders

from .settings import ConfigurationError, Settings

log = logging.getLogger("cangku.review")


@dataclass
class System:
    settings: Settings
    app: Cangku
    engine: Engine
    runners: dict[str, ProjectionRunner]
    broker: dramatiq.Broker | None = None
    jobs: object = None
    dispatcher: ProjectionRunner | None = None
    worker: dramatiq.Worker | None = None
    simulators: object = None
    job_markers: object = None
    scheduler: object = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def catch_up(self) -> None:
        """Bring every projection up to the end of the log (tests, CLI, after a command)."""
        for runner in self.runners.values():
            runner.catch_up()

    def fresh(self, *views: str):
        """The views' engine, with the named projections brought up to the end of the log first, so a read sees
        the commands before it."""
        from sqlalchemy.exc import IntegrityError

        from projections.tracking import ProjectionStuck, TrackingConflict

        for name in views:
            try:
                self.runners[name].catch_up()
            except (TrackingConflict, IntegrityError):
                pass  # another process applied the same events first (this batch rolled back): the view is as fresh
            except ProjectionStuck:
                pass  # named in `projections status` and logged; readers see the view as it stood before the event
        return self.engine

    def map_platform_sku(self, channel: str, shop: str, platform_sku: str, components: dict[str, int], by: str,
                         item_id: str = "") -> dict:
        """Map a platform SKU to a SKU or a kit; the orders the unmapped-SKU view shows waiting for it take the
        mapping and are reserved in the warehouse the routing rules choose, or the configured one."""
        self.app.channels.check_mapping(channel, shop, platform_sku, components, item_id)
        waiting = [UUID(i) for i in waiting_orders(self.fresh("unmapped_skus"), channel, shop, platform_sku)]
        return self.app.channels.map_platform_sku(channel, shop, platform_sku, components, by, item_id, waiting,
                                                  self._warehouse())

    def release_orders_for_new_skus(self, by: str) -> dict:
        """Orders held for a 商家编码 that is now a registered SKU take it as that SKU, are released when nothing else
        holds them, and reserved where the routing rules choose, or in the configured warehouse (as mapping does)."""
        waiting = waiting_by_merchant_code(self.fresh("unmapped_skus"))
        found = sorted({UUID(order) for code, orders in waiting.items() if self.app.catalogue.sku_exists(code)
                        for order in orders})
        orders = self.app.orders.map_waiting_orders(found, self._warehouse(), by) if found else []
        return {"released": sum(o["mapped"] and o["status"] != "held" for o in orders),
                "reserved": sum(o["mapped"] and o["status"] == "reserved" for o in orders)}

    def release_due_presales(self, by: str = "review", now: datetime | None = None) -> dict:
        """Presale orders whose ship-from date has come are released (an event each) and reserved."""
        held = [UUID(order) for order in presale_orders(self.fresh("order_desk"))]
        if not held:
            return {"released": 0, "reserved": 0}
        return self.app.orders.release_due_presales(held, self._warehouse(), by, now)

    def _warehouse(self) -> str:
        """Where to reserve orders released now: the routing rules choose when there are some, else the configured
        warehouse, or "" before it is set up (orders are then reserved later)."""
        return self.app.routing.reserving_in(self.settings.warehouse)

    def import_mappings(self, path: Path, by: str) -> dict:
        """Map every platform SKU of a file (see `cangku.mapping_import`), or none when a row is bad."""
        from .mapping_import import import_mappings

        return import_mappings(self, path, by)

    def start_followers(self, interval: float = 0.2) -> None:
        """Follow the log in background threads: the projections, and the dispatcher when jobs are set up."""
        followers = list(self.runners.values()) + ([self.dispatcher] if self.dispatcher else [])
        for runner in followers:
            self._thread(f"follow-{runner.projection.name}", runner.run_forever, self._stop, interval)

    def start_jobs(self, shops: dict | None = None, in_process_worker: bool | None = None, threads: int = 4,
                   retries: dict | None = None, couriers: tuple[dict, object] | None = None) -> None:
        """Declare the actors and the dispatcher; consume in this process when there is no broker URL."""
        from workers.broker import make_broker, start_worker
        from workers.dispatcher import Dispatcher
        from workers.jobs import Jobs
        from workers.scheduler import watch_markers

        self.broker = make_broker(self.settings.broker_url)
        shops = shops if shops is not None else shop_clients(self.settings)
        if couriers is None and (self.settings.couriers or self.settings.platform_waybills):
            couriers = courier_clients(self.settings, shops)
        self.jobs = Jobs(self.app, self.broker, warehouse=self.settings.warehouse, printers=self.settings.printers,
                         shops=shops, retries=retries,
                         queue_prefix=self.settings.queue_prefix, shipping=self._shipping(couriers, shops), views=self,
                         sender=sender_contact(self.settings.sender), label_sizes=self.settings.label_sizes,
                         label_font=self.settings.label_font or None)
        self.job_markers = watch_markers(self.broker, self.engine, self.settings.pull_interval)
        self.dispatcher = ProjectionRunner(self.app.store, self.engine, Dispatcher(self.jobs), batch_size=200)
        self.dispatcher.setup()
        if in_process_worker if in_process_worker is not None else not self.settings.broker_url:
            self.worker = start_worker(self.broker, threads)

    def _shipping(self, couriers, shops=None):
        if couriers is None:
            return None
        from adapters.couriers.base import Address, Party
        from domain.courier_choice import standard_rules
        from workers.shipping import Shipping

        clients, tracker = couriers
        s = self.settings.sender
        sender = Party(s["name"], s["phone"], Address(s["province"], s["city"], s["district"], s["address"]))
        return Shipping(self.app, self.engine, clients, tracker, standard_rules(), sender, shops)

    def start_scheduler(self) -> None:
        """Enqueue each shop's order pull, and parcel tracking, on an interval (through broker outages, one of each
        at a time)."""
        from workers.scheduler import Scheduler

        self.scheduler = Scheduler(self.jobs, self.job_markers, self.settings.pull_interval, self._stop)
        self._thread("pull-scheduler", self.scheduler.run)
        self._thread("presale-release", self._release_presales_each_interval)

    def _release_presales_each_interval(self) -> None:
        """Release presale orders as their ship-from dates come (each process may try; only one release lands)."""
        while not self._stop.wait(self.settings.pull_interval):
            try:
                self.release_due_presales()
            except Exception:
                log.exception("releasing presale orders whose ship-from date came failed; trying again next interval")

    def _thread(self, name, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.worker:
            self.worker.stop()
        if self.broker:
            self.broker.close()
        if self.simulators:
            self.simulators.stop()
        self.engine.dispose()
        self.app.close()


def shop_clients(settings: Settings) -> dict:
    """A marketplace client per configured shop."""
    from adapters.marketplaces import ShopCredentials, client_for

    clients = {}
    for shop in settings.shops:
        credentials = ShopCredentials(shop.app_key, shop.app_secret, shop.access_token, shop=shop.shop,
                                      sign_secret=shop.sign_secret)
        clients[(shop.channel, shop.shop)] = client_for(shop.channel, credentials, base_url=shop.url or None)
    return clients


def courier_clients(settings: Settings, shops: dict | None = None) -> tuple[dict, object]:
    """Courier clients and the tracker (Kuaidi100) from the CANGKU_COURIER_* settings, and the marketplaces'
    own e-waybills (CANGKU_PLATFORM_WAYBILLS) through the shops' clients, keyed `channel/COURIER`."""
    from adapters.couriers.cainiao import CainiaoClient
    from adapters.couriers.kuaidi100 import Kuaidi100Client
    from adapters.couriers.platform_waybills import DouyinWaybillClient, JdWaybillClient, PddWaybillClient
    from adapters.couriers.sf import SFExpressClient
    from adapters.couriers.yto import YTOClient
    from adapters.couriers.zto import ZTOClient

    config = settings.couriers
    tracker = Kuaidi100Client(**config["KUAIDI100"]) if "KUAIDI100" in config else None
    classes = {"SF": SFExpressClient, "ZTO": ZTOClient, "YTO": YTOClient}
    clients = {code: classes[code](**config[code]) for code in classes if code in config}
    if "CAINIAO" in config:
        cainiao = dict(config["CAINIAO"])
        clients[cainiao.get("cp_code", "YTO")] = CainiaoClient(tracker=tracker, **cainiao)
    platforms = {"pinduoduo": PddWaybillClient, "douyin": DouyinWaybillClient, "jd": JdWaybillClient}
    accounts = {(shop.channel, shop.shop): shop.waybill_account for shop in settings.shops}
    for channel, shop, courier in settings.platform_waybills:
        if tracker is None:
            raise ConfigurationError("CANGKU_PLATFORM_WAYBILLS needs CANGKU_COURIER_KUAIDI100 to follow the parcels")
        if (channel, shop) not in (shops or {}):
            raise ConfigurationError(f"CANGKU_PLATFORM_WAYBILLS: no client for shop {channel}:{shop}")
        account = accounts.get((channel, shop), {}) if channel == "jd" else {}
        clients[f"{channel}/{courier}"] = platforms[channel](shops[(channel, shop)], wp_code=courier, tracker=tracker,
                                                             **account)
    return clients, tracker


def start_simulators(system: System, orders_per_shop: int = 4) -> tuple[dict, tuple[dict, object], object]:
    """Start the marketplace and courier simulators; return shop clients, courier clients and the courier clock."""
    import time

    from adapters.couriers.simulators import run_all as run_couriers
    from adapters.couriers.simulators.common import ManualClock
    from adapters.marketplaces.simulators.run import run_all as run_marketplaces

    marketplaces = run_marketplaces(orders=orders_per_shop, seed=int(time.time()) % 100_000,
                                    shop=f"demo-{int(time.time())}")
    clock = ManualClock(start=datetime.now(timezone(timedelta(hours=8))))
    couriers = run_couriers(clock=clock)
    system.simulators = Simulators(marketplaces, couriers)
    shops = {(channel, sim.shop): simulator_client(sim) for channel, sim in marketplaces.simulators.items()}
    return shops, (couriers.clients(), couriers.tracker()), clock


def simulator_client(sim, **options):
    """Our client for a running marketplace simulator, with the app key, secrets and token it issued."""
    from adapters.marketplaces import ShopCredentials, client_for

    issued = sim.credentials
    credentials = options.pop("credentials", None) or ShopCredentials(
        issued.app_key, issued.app_secret, issued.access_token, shop=issued.shop, sign_secret=issued.sign_secret)
    return client_for(sim.channel, credentials, base_url=sim.url, **options)


@dataclass
class Simulators:
    marketplaces: object
    couriers: object

    def stop(self) -> None:
        self.marketplaces.stop()
        self.couriers.stop()


def buyer_search_key(settings: Settings) -> bytes:
    """The key of the order desk's buyer hashes: derived from the cipher key when buyer data is sealed, else from
    the secret kept in the data folder (made at random on first start), never from a constant, so a copy of the
    view alone cannot be searched by guessing phone numbers."""
    import hashlib
    import hmac

    from scanner_ui.security import stored_secret_key

    secret = settings.cipher_key or settings.secret_key or stored_secret_key(settings.data_dir)
    return hmac.new(secret.encode(), b"cangku order desk buyer search", hashlib.sha256).digest()


def build(settings: Settings | None = None) -> System:
    """Build the system from settings (environment variables when none are given)."""
    settings = settings or Settings.from_env()
    business_calendar.configure(settings.business_timezone, settings.shop_timezones)
    database = settings.database
    if database.kind == "sqlite":
        Path(database.sqlite_events).parent.mkdir(parents=True, exist_ok=True)
    env = database.eventsourcing_env()
    if settings.cipher_key:
        env["BUYER_CIPHER_KEY"] = settings.cipher_key
    app = Cangku.compose(CachedEventStore(env=env), settings.hold_on_remark,
                         barcode_forms=gtin_forms, lot_reader=lot_of, today=business_calendar.today)
    engine = views_engine(database.sqlalchemy_url(), database.schema, database.idle_in_transaction_timeout)
    batch = settings.projection_batch
    runners = {"inventory": ProjectionRunner(app.store, engine, InventoryProjection(), batch),
               "parcels": ProjectionRunner(app.store, engine, ParcelsProjection(), batch),
               "channel_stock": ProjectionRunner(app.store, engine, ChannelStockProjection(), batch),
               "scanning": ProjectionRunner(app.store, engine, ScanningProjection(), batch),
               "orders_board": ProjectionRunner(app.store, engine, orders_board.OrdersBoardProjection(), batch),
               "finance": ProjectionRunner(app.store, engine, finance.FinanceProjection(), batch),
               "crm": ProjectionRunner(app.store, engine, crm.CrmProjection(), batch),
               "replenishment": ProjectionRunner(app.store, engine, replenishment.ReplenishmentProjection(), batch),
               "unmapped_skus": ProjectionRunner(app.store, engine, UnmappedSkusProjection(), batch),
               "catalogue": ProjectionRunner(app.store, engine, catalogue.CatalogueProjection(), batch),
               "purchasing": ProjectionRunner(app.store, engine, purchasing.PurchasingProjection(), batch),
               "lots": ProjectionRunner(app.store, engine, lots.LotsProjection(), batch),
               "transfers": ProjectionRunner(app.store, engine, transfers.TransfersProjection(), batch),
               "dropship": ProjectionRunner(app.store, engine, dropship.DropshipProjection(), batch),
               "after_sales": ProjectionRunner(app.store, engine, after_sales.AfterSalesProjection(), batch),
               "order_desk": ProjectionRunner(app.store, engine, order_desk.OrderDeskProjection(
                   order_desk.BuyerKeys(buyer_search_key(settings))), batch),
               "audit": audit.AuditChainRunner(app.store, engine, batch_size=batch),
               "actors": ProjectionRunner(app.store, engine, ActorIndexProjection(), batch)}
    for runner in runners.values():
        runner.setup()
    return System(settings, app, engine, runners)
