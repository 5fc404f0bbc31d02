"""The README's quick start: `cangku demo` on the embedded defaults takes orders from the simulators to delivery."""

import os
import re
import subprocess
import sys


def test_the_demo_ships_every_pulled_order_and_answers_stock_at_an_earlier_instant(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANGKU_")}

    run = subprocess.run([sys.executable, "-m", "cangku", "demo"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=180)

    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert (tmp_path / "data" / "cangku.sqlite").exists()
    assert len(re.findall(r"pulled \w+/demo-\d+: 4 orders seen, 4 imported", out)) == 5
    shipped = int(re.search(r"shipped (\d+) orders; shipment confirmations received by the platforms: (\d+)",
                            out).group(1))
    assert shipped == 20 and f"confirmations received by the platforms: {shipped}" in out
    assert f"report all {shipped} parcels delivered" in out
    at = re.search(r"--at (\S+)", out).group(1)
    past = subprocess.run([sys.executable, "-m", "cangku", "stock", "--sku", "TEA-LJ-250", "--bin", "A-01-01",
                           "--at", at], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "on hand 60, reserved 0" in past.stdout
    assert "scanner screens at http://127.0.0.1:8000/" in out
    assert re.search(r"picker +badge P1 +PIN 2468", out) and re.search(r"supervisor +badge S1 +PIN 8642", out)
