"""A review rule set written as JSON for the what-if and read back: the same rules, each checked as an edit is."""

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from domain.review import Rule, RuleBook, ReviewRuleRefused, book_as_data, book_from_data, default_rules


def test_a_rule_set_written_as_json_reads_back_as_the_same_rules():
    book = RuleBook(7, default_rules(max_amount=Decimal("500")) + (
        Rule("R6", "gift", {"sku": "CUP", "units": 2, "when_sku": "", "min_amount": Decimal("60.00"), "starts": None,
                            "ends": None, "shop": ""}, True, 6),
        Rule("R7", "presale", {"skus": ["PAN"], "ship_from": datetime(2026, 12, 12, tzinfo=timezone.utc)}, True, 7)))

    again = book_from_data(json.loads(json.dumps(book_as_data(book))))

    assert again == book


def test_a_rule_set_read_from_json_is_refused_naming_the_rule_at_fault():
    with pytest.raises(ReviewRuleRefused, match=r"rule R2 \(amount\): above: a number of yuan"):
        book_from_data({"rules": [{"id": "R2", "kind": "amount", "params": {"above": "lots"}, "enabled": True}]})
    with pytest.raises(ReviewRuleRefused, match="keeps its unknown_sku rule"):
        book_from_data({"rules": [{"id": "R2", "kind": "amount", "params": {"above": "5"}}]})
    with pytest.raises(ReviewRuleRefused, match="named twice"):
        book_from_data({"rules": [{"id": "R4", "kind": "unknown_sku"}, {"id": "R4", "kind": "retired_sku"}]})
    with pytest.raises(ReviewRuleRefused, match="a rule set is"):
        book_from_data([])
