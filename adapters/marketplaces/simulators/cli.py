"""`cangku simulate`: the five marketplace simulators in the foreground, for the demo."""

from __future__ import annotations

import json
import threading

import click

from .run import run_all


@click.command("simulate")
@click.option("--orders", default=200, show_default=True, help="Demo orders seeded into each marketplace.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, help="First port (then +1 per marketplace); 0 picks free ports.")
@click.option("--seed", default=7, show_default=True, help="Same seed, same demo orders.")
@click.option("--orders-file", type=click.File(encoding="utf-8"),
              help='JSON object of extra orders per channel: {"taobao": [{"order_no": …, "lines": […]}], …}.')
def simulate(orders: int, host: str, port: int, seed: int, orders_file) -> None:
    """Run local Taobao, JD, Pinduoduo, Douyin and Kuaishou simulators until Ctrl-C."""
    try:
        uploaded = json.load(orders_file) if orders_file else {}
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--orders-file") from None
    if not isinstance(uploaded, dict):
        raise click.BadParameter("expected a JSON object keyed by channel", param_hint="--orders-file")
    running = run_all(orders, host=host, port=port, seed=seed, uploaded=uploaded)
    try:
        for channel, sim in running.simulators.items():
            creds = sim.credentials
            click.echo(f"{channel:<10} {sim.url}")
            click.echo(f"{'':<10} app_key={creds.app_key} app_secret={creds.app_secret} "
                       f"access_token={creds.access_token}" + (f" sign_secret={creds.sign_secret}"
                                                               if creds.sign_secret else ""))
        click.echo("Demo credentials only. Ctrl-C to stop.")
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
