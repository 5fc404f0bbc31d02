"""Old event shapes keep loading: Listing.Published events stored before version 2 (no `shown_before`), held here
as the exact bytes that release stored, load through the upcaster on SQLite and PostgreSQL."""

import pytest
from eventsourcing.persistence import StoredEvent

from domain.listing import Listing, listing_id
from projections.channel_stock import channel_stock
from tests.builders import TEA, warehouse_with_catalogue

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

LISTING = listing_id("taobao", "flagship", "p-TEA")
# As the release before Published version 2 stored them (channel taobao, shop flagship, 7 then 5 units shown).
OLD_ROWS = [
    ("domain.listing:Listing.Mapped",
     b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-11T12:00:03.266838+00:00"},'
     b'"originator_topic":"domain.listing:Listing","channel":"taobao","shop":"flagship","platform_sku":"p-TEA",'
     b'"item_id":"","components":{"TEA-LJ-250":1},"share":{"_type_":"decimal_str","_data_":"1"},"buffer":0,'
     b'"minimum":0,"maximum":null}'),
    ("domain.listing:Listing.Published",
     b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-11T12:00:04.279472+00:00"},"quantity":7,'
     b'"source":"evt-1"}'),
    ("domain.listing:Listing.Published",
     b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-11T12:05:00.000000+00:00"},"quantity":5,'
     b'"source":"evt-2"}'),
]


@pytest.fixture(params=STORES)
def system(request, make_system, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    built = make_system(url)
    warehouse_with_catalogue(built.app, {(TEA, "A-01-01"): 10})
    built.app.store.recorder.insert_events([StoredEvent(LISTING, version, topic, state)
                                            for version, (topic, state) in enumerate(OLD_ROWS, start=1)])
    return built


def test_a_listing_whose_publications_were_stored_in_the_old_shape_still_loads(system):
    listing = system.app.store.repository.get(LISTING)

    assert listing.published == 5
    events = list(system.app.store.events.get(LISTING))
    assert [(type(e).__qualname__, getattr(e, "quantity", None), getattr(e, "shown_before", "-")) for e in events] \
        == [("Listing.Mapped", None, "-"), ("Listing.Published", 7, None), ("Listing.Published", 5, None)]


def test_the_channel_stock_view_folds_old_and_new_publications_alike(system):
    system.app.channels.record_published("taobao", "flagship", "p-TEA", 3, "evt-3")
    system.catch_up()

    [row] = channel_stock(system.engine)
    assert (row["published"], row["should_show"]) == (3, 10)
    newest = list(system.app.store.events.get(LISTING))[-1]
    assert isinstance(newest, Listing.Published) and (newest.quantity, newest.shown_before) == (3, 5)
