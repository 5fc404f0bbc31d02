"""The order desk on a desktop (1366×900) in Chromium: find a parcel by its tracking number, read the order's story,
hold and release it, cancel another from the list; an auditor reads but cannot act, a picker is refused."""

import pytest

from tests.unit.test_backoffice_finance import NUMBERS

from .test_backoffice_browser import sign_in, system  # noqa: F401 (the busy day with every role signed up)

pytestmark = pytest.mark.browser

T100, T103 = NUMBERS["T100"], NUMBERS["T103"]


@pytest.fixture
def desktop(browser, served):
    contexts = []

    def open_desk():
        context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=served.url)
        context.set_default_timeout(8000)
        contexts.append(context)
        return context.new_page()

    yield open_desk
    for context in contexts:
        context.close()


def submit(page, form: str) -> None:
    with page.expect_navigation():
        page.click(f"{form} button")


def test_a_supervisor_finds_a_parcel_reads_its_story_holds_and_releases_one_order_and_cancels_another(system,
                                                                                                       desktop):
    page = desktop()
    sign_in(page, "S1", "/office/orders")

    page.fill("input[name=q]", "SF14W1")
    with page.expect_navigation():
        page.click("#filters button")
    assert page.locator("#orders-table tbody tr").count() == 1
    with page.expect_navigation():
        page.click(f"a.order-link:text('{T100}')")
    assert page.inner_text("#order-number") == T100
    assert page.get_attribute("#order-status", "data-status") == "shipped"
    for event in ("Imported", "ItemPicked", "Packed", "WaybillAssigned", "HandedOver", "Shipped"):
        assert page.locator(f"#timeline-table tr[data-event={event}]").count() >= 1
    assert "SF14W1" in page.inner_text("#tracking-no")

    page.goto("/office/orders?status=awaiting_stock")
    with page.expect_navigation():
        page.click(f"a.order-link:text('{T103}')")
    page.fill("#hold-form input[name=reason]", "buyer asked to wait")
    submit(page, "#hold-form")
    assert page.get_attribute("#order-status", "data-status") == "held"
    assert "buyer asked to wait" in page.inner_text("#hold-reasons")
    submit(page, "#release-form")
    assert page.get_attribute("#order-status", "data-status") == "released"
    assert [e for e in page.locator("#timeline-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.event)") if e in ("Held", "Released")][-2:] == ["Held", "Released"]

    page.goto(f"/office/orders?q={NUMBERS['T104']}")
    with page.expect_navigation():
        page.click("a.order-link")
    page.fill("#cancel-form input[name=reason]", "address never came")
    submit(page, "#cancel-form")
    assert page.get_attribute("#order-status", "data-status") == "cancelled"
    page.fill("#hold-form input[name=reason]", "too late")
    submit(page, "#hold-form")
    assert "当前状态为 已取消" in page.inner_text("#refusal")  # the refusal in the office's language (zh by default)


def test_an_auditor_reads_an_order_but_has_no_actions_and_a_picker_is_refused(system, desktop):
    auditor, picker = desktop(), desktop()
    sign_in(auditor, "A1", "/office/orders")
    sign_in(picker, "P1", "/office/orders")

    auditor.fill("input[name=q]", T103)
    with auditor.expect_navigation():
        auditor.click("#filters button")
    with auditor.expect_navigation():
        auditor.click("a.order-link")

    assert auditor.inner_text("#order-number") == T103
    assert auditor.locator("#timeline-table tbody tr").count() >= 1
    assert auditor.locator("#actions").count() == 0 and auditor.locator("#bulk-go").count() == 0
    answer = auditor.request.post(auditor.url + "/hold", form={"reason": "x"},
                                  headers={"Origin": auditor.url.split("/office")[0]})
    assert answer.status == 403
    refused = picker.goto(f"/office/orders?q={T103}")
    assert refused.status == 403 and picker.locator("#orders-table").count() == 0
    assert "你的角色不能使用此界面" in picker.inner_text("main")
    assert system.app.orders.find_order("taobao", "flagship", T103).status == "awaiting_stock"
