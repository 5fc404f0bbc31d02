"""Back-office tables read their rows a page at a time: counts, pages, leading rows and Python-side filters agree
with the whole list, and a day range is a range of business days."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from projections.backoffice import Listing, instant_bounds

metadata = MetaData()
rows_table = Table("rows", metadata, Column("n", Integer, primary_key=True), Column("word", String(10)))


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(rows_table), [{"n": n, "word": "even" if n % 2 == 0 else "odd"} for n in range(1, 5001)])
    return engine


def listing(engine, **options) -> Listing:
    return Listing(engine, select(rows_table).order_by(rows_table.c.n), **options)


def test_a_page_is_the_slice_of_the_whole_list(engine):
    everything = list(listing(engine))
    assert len(everything) == listing(engine).count() == 5000
    assert listing(engine).page(50, 4980) == everything[4980:]
    assert listing(engine).page(50, 100) == everything[100:150]


def test_shapes_apply_to_pages_and_streams(engine):
    doubled = listing(engine, shape=lambda r: dict(r, twice=r["n"] * 2))
    assert [r["twice"] for r in doubled.page(3, 10)] == [22, 24, 26]
    assert sum(r["twice"] for r in doubled) == 2 * sum(range(1, 5001))


def test_a_python_side_filter_counts_and_pages_what_it_keeps(engine):
    odd = listing(engine, keep=lambda r: r["word"] == "odd")
    assert odd.count() == 2500
    assert [r["n"] for r in odd.page(3, 1000)] == [2001, 2003, 2005]


def test_leading_rows_come_first_and_shift_the_query_rows(engine):
    leading = [{"n": 0, "word": "stuck"}, {"n": -1, "word": "stuck"}]
    with_stuck = listing(engine, leading=leading)
    assert with_stuck.count() == 5002
    assert [r["n"] for r in with_stuck.page(4, 0)] == [0, -1, 1, 2]
    assert [r["n"] for r in with_stuck.page(2, 1)] == [-1, 1]
    assert [r["n"] for r in with_stuck.page(2, 5001)] == [5000]


def test_a_day_range_spans_the_business_days_in_utc():
    start, end = instant_bounds("2026-11-11", "2026-11-11")
    assert start == datetime(2026, 11, 10, 16, tzinfo=timezone.utc)
    assert end == datetime(2026, 11, 11, 16, tzinfo=timezone.utc)
    assert instant_bounds(None, None) == (None, None)
