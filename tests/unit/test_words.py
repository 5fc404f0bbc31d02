"""Every text the system shows comes from one gettext catalogue per language (scanner_ui/translations)."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from scanner_ui import i18n


def catalogue_file(lang: str) -> Path:
    return Path(i18n.__file__).parent / "translations" / lang / "LC_MESSAGES" / "messages.po"


def test_the_words_come_from_the_po_catalogue_of_each_language():
    with open(catalogue_file("zh"), "rb") as file:
        written = {m.id: m.string for m in read_po(file) if m.id}

    assert i18n.translate("zh", "action:hold") == written["action:hold"] == "挂起"
    assert i18n.translate("en", "action:hold") == "Hold"
    assert i18n.translate("zh", "wave_finished", {"wave": "W1"}) == "波次 W1 已拣完"


def test_a_word_missing_in_chinese_falls_back_to_english_then_to_its_key():
    assert i18n.translate("zh", "no-such-key") == "no-such-key"
    assert i18n.translate("fr", "action:hold") == "挂起"  # an unknown language reads as the default


def test_every_english_word_has_a_chinese_one():
    english, chinese = i18n.catalogue("en"), i18n.catalogue("zh")

    assert sorted(set(english) - set(chinese)) == []


def _po(path: Path, words: dict[str, str]) -> None:
    path.write_text("".join(f'msgid "{key}"\nmsgstr "{text}"\n\n' for key, text in words.items()), encoding="utf-8")


def test_an_area_adds_its_words_in_its_own_domain_and_may_not_redefine_a_shared_one(tmp_path, monkeypatch):
    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    _po(folder / "messages.po", {"action:hold": "挂起"})
    _po(folder / "returns.po", {"case:open": "售后中"})
    monkeypatch.setattr(i18n, "CATALOGUES", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        assert i18n.catalogue("zh") == {"action:hold": "挂起", "case:open": "售后中"}

        _po(folder / "returns.po", {"action:hold": "暂停"})
        i18n.catalogue.cache_clear()
        with pytest.raises(ValueError, match="returns.po redefines 'action:hold'"):
            i18n.catalogue("zh")
    finally:
        i18n.catalogue.cache_clear()


def test_a_refusal_without_words_of_its_own_keeps_its_english_message_in_every_language():
    from domain.errors import InvalidInput

    plain = InvalidInput("a hold needs a reason of 1-64 characters")

    assert i18n.refusal("zh", plain) == i18n.refusal("en", plain) == "a hold needs a reason of 1-64 characters"


def test_a_refusal_with_its_key_reads_in_chinese_and_its_english_words_match_its_message():
    from types import SimpleNamespace

    from domain.errors import InvalidOrderState, UnknownSku
    from domain.order import Order

    shipped = SimpleNamespace(status="shipped", platform_order_no="T1")
    with pytest.raises(InvalidOrderState) as refused:
        Order._require(shipped, "released", "awaiting_stock", "reserved", "waved", doing="hold")
    state = refused.value
    unknown = UnknownSku("unknown SKU 'NOPE-1'", key="refusal:unknown_sku", sku="NOPE-1")

    assert i18n.refusal("en", state) == str(state) == "order T1 is shipped; cannot hold (needs released or " \
                                                      "awaiting_stock or reserved or waved)"
    assert i18n.refusal("zh", state).startswith("订单 T1 当前状态为 已发货, 不能执行 (hold)")
    assert i18n.refusal("zh", unknown) == "未知 SKU 'NOPE-1'" and i18n.refusal("en", unknown) == str(unknown)


def test_every_key_the_code_says_has_words_in_both_languages():
    import re

    root = Path(i18n.__file__).parent.parent
    sources = [p for folder in ("cangku", "domain", "projections", "scanner_ui", "adapters")
               for p in (root / folder).rglob("*.py")]
    used = {key for path in sources for key in re.findall(r'["\']((?:cli|refusal):[a-z_:]+)["\']', path.read_text("utf-8"))}

    assert len(used) > 100
    assert sorted(used - set(i18n.catalogue("en"))) == [] and sorted(used - set(i18n.catalogue("zh"))) == []
