"""`cangku import history`: a file of past orders through the command line, with its progress and its counts; the
views it fills still equal a replay of the log; a bad row stops the whole file."""

import re

from click.testing import CliRunner

from cangku.audit_cli import audit
from cangku.cli import main
from tests.history_files import online_retail_file


def run(command, args, database_url, tmp_path):
    env = {"CANGKU_DATABASE_URL": database_url, "CANGKU_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(command, args, env=env, catch_exceptions=False)


def test_an_invoice_file_is_imported_with_progress_and_the_views_match_a_replay(sqlite_url, tmp_path):
    path = online_retail_file(tmp_path / "Online Retail.csv", 1_500)

    done = run(main, ["import", "history", str(path), "--format", "online-retail", "--shop", "uk"], sqlite_url,
               tmp_path)
    again = run(main, ["import", "history", str(path), "--format", "online-retail", "--shop", "uk"], sqlite_url,
                tmp_path)
    checked = run(audit, ["check"], sqlite_url, tmp_path)

    assert done.exit_code == 0, done.stderr
    assert "reading Online Retail.csv as UTF-8" in done.stderr
    assert "rows written" in done.stderr
    counted = re.search(r"recorded (\d+) past orders \((\d+) lines\); 0 were recorded before; (\d+) lines moved no sale",
                        done.stdout)
    assert counted and int(counted[1]) > 0 and int(counted[2]) + int(counted[3]) == 1_500, done.stdout
    assert "recorded 0 past orders (0 lines)" in again.stdout
    assert checked.exit_code == 0, checked.stdout
    assert "views_match_replay" in checked.stdout and "FAILED" not in checked.stdout


def test_a_file_with_a_bad_row_imports_nothing_and_says_which(sqlite_url, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_no,ordered_at,status,sku,quantity,unit_price\n"
                    "A1,2025-01-02T10:00:00+08:00,shipped,TEA-1,2,9.90\n"
                    "A2,2025-01-02T11:00:00+08:00,shipped,TEA-1,-2,9.90\n", encoding="utf-8")

    result = run(main, ["import", "history", str(path)], sqlite_url, tmp_path)

    assert result.exit_code == 1
    assert "line 3: quantity must be a whole number" in result.stderr
