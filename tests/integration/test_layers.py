"""The import rules of pyproject.toml hold, and an outward import breaks them."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cangku", "scanner_ui", "workers", "adapters", "projections", "domain")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_every_import_points_inward():
    checked = lint_imports(ROOT)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def test_the_domain_importing_a_view_breaks_the_build(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    stock = tmp_path / "domain" / "stock.py"
    stock.write_text("from projections.inventory import stock_by_bin  # noqa\n" + stock.read_text())

    checked = lint_imports(tmp_path)

    assert checked.returncode != 0
    assert "Layers: composition root, UI, workers, adapters and views, domain BROKEN" in checked.stdout
    assert "domain.stock -> projections.inventory" in checked.stdout
