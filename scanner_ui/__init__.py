"""The Flask app: scanner pages, back-office pages and the JSON API."""

import os

from flask import Flask, g

from . import auth, errors, i18n, scanner, security, stock, supervisor, throttle
from . import after_sales, backoffice, costs, dropship, lots, mapping, orders_desk, products, purchasing, review
from . import warehouses
from .ports import FloorPorts, LabelPrinter, QueuedLabels, courier_waybill, keyed_screens_from, local_waybill
from .api import bp as api_bp


def create_app(system, test_config: dict | None = None) -> Flask:
    """Build the app around a system (composed by `cangku.bootstrap.build`)."""
    app = Flask(__name__)
    security.install_before_routes(app)
    app.config.update(
        SECRET_KEY=system.settings.secret_key or security.stored_secret_key(system.settings.data_dir),
        **security.config_from_env(),
        JSON_AS_ASCII=False,
        SESSION_COOKIE_SAMESITE="Lax",
        COUNT_APPROVAL_THRESHOLD=int(os.environ.get("CANGKU_COUNT_APPROVAL_THRESHOLD", "10")),
        KEYED_ENTRY_SCREENS=keyed_screens_from(os.environ.get("CANGKU_KEYED_ENTRY")),
        LABEL_PRINTER_URL=system.settings.printers.get("packing", "dummy:"),
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["cangku"] = system
    jobs = system.jobs is not None
    app.extensions["cangku_print_label"] = (QueuedLabels(system) if jobs
                                            else LabelPrinter(system, app.config["LABEL_PRINTER_URL"]))
    allocate = courier_waybill(system) if jobs and system.jobs.shipping else local_waybill
    app.extensions["cangku_ports"] = FloorPorts(
        system, lambda order_id, by: app.extensions["cangku_print_label"](order_id, by),
        app.config["COUNT_APPROVAL_THRESHOLD"], allocate, app.config["KEYED_ENTRY_SCREENS"])
    errors.register(app)
    app.register_blueprint(stock.bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(scanner.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(backoffice.bp)
    app.register_blueprint(mapping.bp)
    app.register_blueprint(products.bp)
    app.register_blueprint(purchasing.bp)
    app.register_blueprint(lots.bp)
    app.register_blueprint(warehouses.bp)
    app.register_blueprint(orders_desk.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(dropship.bp)
    app.register_blueprint(dropship.supplier_bp)
    app.register_blueprint(costs.bp)
    app.register_blueprint(after_sales.bp)
    security.init_app(app)
    app.before_request(auth.identify_device)
    app.after_request(auth.remember_device)
    throttle.init_app(app)

    @app.context_processor
    def words():
        return {"_": lambda key, **params: i18n.translate(g.get("lang", i18n.DEFAULT), key, params),
                "lang": g.get("lang", i18n.DEFAULT), "staff": auth.current_staff()}

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app
