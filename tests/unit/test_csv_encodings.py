"""CSV files as Chinese spreadsheets save them: UTF-8 with or without BOM, GBK/GB18030, UTF-16."""

import pytest

from adapters.imports import encoding_of, import_skus
from domain.errors import RowsRejected

ROWS = "code,name,barcodes,unit_weight_g,unit_cost,safety_stock\r\nTEA-LJ-250,西湖龙井 250g 罐装,,250,88.00,5\r\n"


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("gbk", "gb18030"),
    ("gb18030", "gb18030"),
    ("utf-16", "utf-16"),
    ("utf-16-le", "utf-16-le"),
])
def test_a_catalogue_saved_in_each_spreadsheet_encoding_imports_with_its_chinese_intact(make_system, tmp_path,
                                                                                         encoding, expected):
    system = make_system()
    path = tmp_path / "skus.csv"
    path.write_bytes(ROWS.encode(encoding))

    imported = import_skus(system.app, path)

    assert encoding_of(path) == expected
    assert imported == {"registered": 1, "updated": 0, "unchanged": 0}
    assert system.app.catalogue.get_sku("TEA-LJ-250")["name"] == "西湖龙井 250g 罐装"


def test_a_file_that_is_no_text_is_refused_by_name_and_writes_nothing(make_system, tmp_path):
    system = make_system()
    path = tmp_path / "skus.csv"
    path.write_bytes(b"code,name,barcodes,unit_weight_g,unit_cost,safety_stock\n\x80\x80,\xff\n")

    with pytest.raises(RowsRejected) as refused:
        import_skus(system.app, path)

    assert "neither UTF-8, UTF-16 nor GB18030" in refused.value.errors[1]
    assert system.app.store.recorder.max_notification_id() in (None, 0)
