"""The command line, the API and the scanner say what they print and why they refuse in the reader's language (zh or
English), from the one gettext catalogue; a refusal without words of its own keeps its English message."""

import pytest
from click.testing import CliRunner

from cangku.cli import main
from scanner_ui import create_app
from tests.builders import CUP, warehouse_with_catalogue
from tests.integration.test_scanner_http import PIN, post_scan, signed_in


@pytest.fixture
def system(make_system, sqlite_url, tmp_path, monkeypatch):
    system = make_system(sqlite_url)
    warehouse_with_catalogue(system.app, {(CUP, "A-01-02"): 10})
    for badge, role in (("K1", "packer"), ("A1", "auditor"), ("S1", "supervisor")):
        system.app.staff.register_staff(badge, badge, role, PIN, "admin")
    monkeypatch.setenv("CANGKU_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CANGKU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CANGKU_WAREHOUSE", "WH1")
    return system


@pytest.fixture
def web(system):
    return create_app(system, {"TESTING": True})


def run(monkeypatch, language: str | None, *args: str):
    if language:
        monkeypatch.setenv("CANGKU_LANGUAGE", language)
    else:
        monkeypatch.delenv("CANGKU_LANGUAGE", raising=False)
    return CliRunner().invoke(main, list(args))


def test_the_stock_command_prints_its_columns_and_lines_in_chinese_or_in_english(system, monkeypatch):
    chinese = run(monkeypatch, "zh", "stock", "--sku", CUP)
    english = run(monkeypatch, None, "stock", "--sku", CUP)

    assert chinese.exit_code == 0 and english.exit_code == 0
    assert chinese.output.splitlines()[0].split() == ["库位", "在库", "已预占", "可用"]
    assert english.output.splitlines()[0] == f"{'bin':<12}{'on hand':>9}{'reserved':>10}{'available':>11}"
    assert english.output.splitlines()[1].split() == ["A-01-02", "10", "0", "10"]


def test_an_import_report_names_each_refused_row_in_the_language_set(system, monkeypatch, tmp_path):
    opening = tmp_path / "stock.csv"
    opening.write_text(f"warehouse,sku,bin,quantity\nWH1,NOPE-1,A-01-02,5\nWH1,{CUP},A-01-02,0\n", encoding="utf-8")

    chinese = run(monkeypatch, "zh-CN", "import", "stock", str(opening))
    english = run(monkeypatch, None, "import", "stock", str(opening))

    assert chinese.exit_code == 1 and "没有导入任何内容" in chinese.output
    assert "第 2 行: 未知 SKU 'NOPE-1'" in chinese.output
    assert "第 3 行: 数量必须是 1 到 10,000,000 之间的整数, 收到 0" in chinese.output
    assert "line 2: unknown SKU 'NOPE-1'" in english.output
    assert "line 3: quantity must be a whole number from 1 to 10,000,000, got 0" in english.output


def test_a_refused_command_is_told_in_chinese_on_the_command_line(system, monkeypatch):
    chinese = run(monkeypatch, "zh", "lots", "recall", "--sku", "NOPE-1", "--lot", "L1")
    english = run(monkeypatch, None, "lots", "recall", "--sku", "NOPE-1", "--lot", "L1")

    assert chinese.exit_code == 1 and "未知 SKU 'NOPE-1'" in chinese.output
    assert english.exit_code == 1 and "unknown SKU 'NOPE-1'" in english.output


def test_a_scanner_refusal_says_what_is_wrong_in_the_screen_s_language(system, web):
    packer = signed_in(web, "K1", "pack-1")

    chinese = post_scan(packer, system.app, "pack-1", "pack", "T404")
    packer.get("/lang/en?next=/s/pack")
    english = post_scan(packer, system.app, "pack-1", "pack", "T404")

    assert chinese.status_code == 404 and "没有订单、周转箱或包裹 T404" in chinese.json["message"]
    assert english.status_code == 404 and "no order, tote or parcel T404" in english.json["message"]


def test_a_refusal_for_a_role_is_told_on_the_scanner_in_chinese(system, web):
    auditor = signed_in(web, "A1", "desk-1")

    refused = post_scan(auditor, system.app, "desk-1", "supervisor", "wave:all", "action")

    assert refused.status_code == 403 and refused.json["error"]["message"] == "没有权限：角色 auditor 不能使用 supervisor 界面"


def test_an_api_refusal_tells_its_detail_in_chinese_when_asked_and_in_english_otherwise(system, web):
    token = system.app.staff.issue_token("S1", "tests", "admin")
    client = web.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    chinese = client.get("/api/v1/skus/NOPE-1", headers={**auth, "Accept-Language": "zh-CN,zh;q=0.9"})
    plain = client.get("/api/v1/skus/NOPE-1", headers=auth)

    assert chinese.status_code == 404 and chinese.get_json()["error"]["message"] == "未知 SKU：未知 SKU 'NOPE-1'"
    assert plain.get_json()["error"]["message"] == "unknown SKU 'NOPE-1'"
