"""The Flask app: scanner pages, back-office pages and the JSON API."""

from flask import Flask

from cangku.bootstrap import System, build

from . import errors, stock


def create_app(system: System | None = None, test_config: dict | None = None) -> Flask:
    """Build the app around a system (built from the environment when not given)."""
    app = Flask(__name__)
    system = system or build()
    app.config.update(SECRET_KEY=system.settings.secret_key or "dev-only-not-secret", JSON_AS_ASCII=False)
    if test_config:
        app.config.update(test_config)
    app.extensions["cangku"] = system
    errors.register(app)
    app.register_blueprint(stock.bp)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app
