"""`cangku stock` lists a SKU's units in transit below its bins, now and as they stood at an instant."""

from datetime import datetime, timezone

from click.testing import CliRunner

from cangku.cli import main
from tests.builders import BINS, TEA, warehouse_with_catalogue


def test_stock_now_and_at_an_instant_shows_the_units_in_transit(make_system, sqlite_url, tmp_path, monkeypatch):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(TEA, "A-01-01"): 9})
    system.app.inventory.open_warehouse("WH2", "Beijing")
    for bin, zone, area, sequence in BINS:
        system.app.inventory.add_location("WH2", bin, zone, area, sequence)
    system.app.transfers.draft("TR-7", "WH1", "WH2", {TEA: 4}, "S1")
    system.app.transfers.ship("TR-7", "S1")
    shipped = datetime.now(timezone.utc)
    system.app.transfers.receive("TR-7", TEA, 3, "R1")
    monkeypatch.setenv("CANGKU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))

    now = CliRunner().invoke(main, ["stock", "--sku", TEA, "--warehouse", "WH2"])
    then = CliRunner().invoke(main, ["stock", "--sku", TEA, "--at", shipped.isoformat()])

    assert now.exit_code == 0 and then.exit_code == 0, now.output + then.output
    assert "in transit: 1 on transfer TR-7 (WH1 → WH2)" in now.output
    assert "in transit: 4 on transfer TR-7 (WH1 → WH2)" in then.output
    assert "on hand 5" in then.output
