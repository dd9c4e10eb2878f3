"""Every dashboard page, for a subscriber and for staff, at 1280 px and 390 px wide: no page
is wider than the viewport, "Sign out" stays in view, and axe-core finds no serious or
critical accessibility violation.

axe-core is the npm package pinned by package-lock.json (`make test` runs `npm ci`). The
site's Content-Security-Policy allows only self-hosted scripts, so `add_script_tag(path=...)`,
which inlines the file, is refused; the source is evaluated through the DevTools protocol
instead (`page.evaluate`), which CSP does not govern, so the pages run under their real policy.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from deliveries.models import Delivery, ReplayJob
from demo.models import InboxRequest
from subscriptions import services
from subscriptions.models import Endpoint, EventType
from tests.browser_support import LOOPBACK, needs_chromium
from tests.factories import (
    AttemptFactory,
    DeliveryFactory,
    EndpointFactory,
    EventFactory,
    EventTypeFactory,
    StaffFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = [1280, 390]
# Only these fail the test; the rest are printed with -rA for whoever wants to polish.
BLOCKING = {"serious", "critical"}

needs_axe = pytest.mark.skipif(
    not AXE.exists(),
    reason=f"*** ACCESSIBILITY TESTS SKIPPED: {AXE} is missing; `make test` installs it "
    "with `npm ci` (npm is needed) ***",
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def width(request) -> int:
    return request.param


@pytest.fixture
def page(chromium, width):
    """A fresh context `width` px wide that may talk to this machine only."""
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    hosts: list[str] = []
    tab.on("request", lambda request: hosts.append(urlsplit(request.url).hostname or ""))
    yield tab
    context.close()
    outside = {host for host in hosts if host not in LOOPBACK}
    assert not outside, f"the browser contacted non-loopback hosts: {outside}"


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def run_axe(page) -> list[dict]:
    """axe-core's violations on the current page, each with its rule id, impact and nodes."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            }));
        }"""
    )


def page_width_problems(page, width: int) -> list[str]:
    problems = []
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width > width:
        problems.append(f"page is {scroll_width} px wide in a {width} px viewport")
    sign_out = page.locator("button:has-text('Sign out')")
    if sign_out.count():
        box = sign_out.bounding_box()
        if not sign_out.is_visible() or box is None or box["x"] + box["width"] > width:
            problems.append(f"Sign out is not in view: {box}")
    return problems


def audit(page, width: int, pages: dict[str, str]) -> dict[str, dict]:
    """Visit each page; return {name: {"blocking": [...], "other": [...], "layout": [...]}}."""
    report = {}
    for name, url in pages.items():
        try:
            response = page.goto(url)
        except PlaywrightError as error:  # chromium refuses an error answer with no body
            response, status = None, error.message.splitlines()[0]
        else:
            status = response.status if response else "nothing"
        if response is None or not response.ok:
            report[name] = {"blocking": [], "other": [], "layout": [f"{url} answered {status}"]}
            continue
        violations = run_axe(page)
        report[name] = {
            "blocking": [v for v in violations if v["impact"] in BLOCKING],
            "other": [v for v in violations if v["impact"] not in BLOCKING],
            "layout": page_width_problems(page, width),
        }
    return report


def describe(report: dict[str, dict]) -> str:
    lines = []
    for name, found in report.items():
        counts = f"{len(found['blocking'])} serious/critical, {len(found['other'])} other"
        lines.append(f"{name}: {counts}; layout: {found['layout'] or 'fits'}")
        for violation in found["blocking"]:
            lines.append(
                f"    [{violation['impact']}] {violation['id']}: {violation['help']} "
                f"at {violation['nodes']}"
            )
        for violation in found["other"]:
            lines.append(f"    ({violation['impact']}) {violation['id']} at {violation['nodes']}")
    return "\n".join(lines)


def assert_clean(report: dict[str, dict]) -> None:
    print(describe(report))  # shown with -rA or on failure
    failing = {name for name, found in report.items() if found["blocking"] or found["layout"]}
    assert not failing, f"pages with problems: {sorted(failing)}\n{describe(report)}"


@pytest.fixture
def world(db, settings):
    """A subscriber with an enabled, a paused and a system-disabled endpoint, deliveries
    that succeeded, failed and are waiting, a finished bulk replay, and the catalogue."""
    # Waiting pages reload themselves; not while axe is reading them.
    settings.HOOKHUB_PENDING_REFRESH = 600
    now = timezone.now()
    paid = EventTypeFactory(name="order-paid", description="An order was paid in full.")
    EventTypeFactory(name="order-refunded", description="Money went back.")
    EventTypeFactory(name="legacy-thing", description="Retired.", archived=True)
    code_type = EventTypeFactory(name="user-created", source=EventType.Source.CODE)
    sam = UserFactory(username="sam", password=PASSWORD)
    staff = StaffFactory(username="root", password=PASSWORD)
    endpoint = EndpointFactory(
        owner=sam,
        url="https://orders.example.com/webhooks/hookhub/receive-every-order-event",
        description="Orders service",
        event_types=[paid],
    )
    paused = EndpointFactory(owner=sam, url="https://paused.example.com/hook", event_types=[paid])
    services.pause_endpoint(paused, actor=sam)
    EndpointFactory(
        owner=sam,
        url="https://broken.example.com/hook",
        all_event_types=True,
        state=Endpoint.State.DISABLED,
        disabled_at=now - timedelta(hours=2),
        disabled_reason="Failing for 5 days",
    )
    succeeded = DeliveryFactory(
        endpoint=endpoint,
        event=EventFactory(event_type=paid),
        status=Delivery.Status.SUCCEEDED,
        attempt_count=1,
        last_response_status=200,
    )
    AttemptFactory(delivery=succeeded, response_status=200, response_body='{"ok": true}')
    failed = DeliveryFactory(
        endpoint=endpoint,
        event=EventFactory(event_type=paid),
        status=Delivery.Status.FAILED,
        attempt_count=1,
        last_response_status=500,
    )
    AttemptFactory(delivery=failed, response_status=500, response_body="database down")
    pending = DeliveryFactory(
        endpoint=endpoint,
        event=EventFactory(event_type=paid),
        status=Delivery.Status.PENDING,
        next_attempt_at=now,  # due: its page waits for the worker, reloading
    )
    job = ReplayJob.objects.create(
        created_by=staff,
        filters={"owner": "sam"},
        delivery_ids=[failed.pk],
        total=1,
        done=1,
        status=ReplayJob.Status.FINISHED,
        finished_at=now,
    )
    running = ReplayJob.objects.create(
        created_by=staff, delivery_ids=[failed.pk], total=1, status=ReplayJob.Status.RUNNING
    )
    InboxRequest.objects.create(
        inbox="sam",
        method="POST",
        url="http://127.0.0.1/demo/inbox/sam/",
        headers={"content-type": "application/json"},
        body='{"type": "order-paid"}',
        signature_valid=True,
    )
    return {
        "endpoint": endpoint,
        "failed": failed,
        "job": job,
        "running": running,
        "pending": pending,
        "paid": paid,
        "code_type": code_type,
    }


@needs_axe
def test_every_subscriber_page_fits_the_viewport_and_passes_axe(page, live_server, world, width):
    base, uid = live_server.url, world["endpoint"].uid
    page.goto(f"{base}/accounts/login/")
    report = {"login": audit(page, width, {"login": f"{base}/accounts/login/"})["login"]}
    page.fill("#id_username", "sam")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    report["login (refused)"] = {
        "blocking": [v for v in run_axe(page) if v["impact"] in BLOCKING],
        "other": [],
        "layout": page_width_problems(page, width),
    }
    sign_in(page, live_server, "sam")
    report |= audit(
        page,
        width,
        {
            "endpoint list": f"{base}/endpoints/",
            "endpoint detail": f"{base}/endpoints/{uid}/",
            "endpoint form (new)": f"{base}/endpoints/new/",
            "endpoint form (edit)": f"{base}/endpoints/{uid}/edit/",
            "endpoint delete confirm": f"{base}/endpoints/{uid}/delete/",
            "delivery log": f"{base}/endpoints/{uid}/deliveries/",
            "delivery log (bad filter)": f"{base}/endpoints/{uid}/deliveries/?since=nonsense",
            "delivery detail": f"{base}/deliveries/{world['failed'].uid}/",
            "delivery detail (waiting)": f"{base}/deliveries/{world['pending'].uid}/",
            "webhooks catalogue": f"{base}/webhooks/",
            "demo inbox": f"{base}/demo/inbox/",
        },
    )
    page.goto(f"{base}/endpoints/new/")
    page.click("button:has-text('Add endpoint')")
    page.wait_for_selector(".field-error")
    report["endpoint form (errors)"] = {
        "blocking": [v for v in run_axe(page) if v["impact"] in BLOCKING],
        "other": [],
        "layout": page_width_problems(page, width),
    }
    assert_clean(report)


@needs_axe
def test_every_staff_page_fits_the_viewport_and_passes_axe(page, live_server, world, width):
    base = live_server.url
    sign_in(page, live_server, "root")
    report = audit(
        page,
        width,
        {
            "staff overview": f"{base}/review/",
            "failures": f"{base}/review/failures/",
            "failures (bad filter)": f"{base}/review/failures/?owner=nobody",
            "bulk replay confirm": f"{base}/review/failures/replay/?owner=sam",
            "replay job": f"{base}/review/replays/{world['job'].uid}/",
            "replay job (running)": f"{base}/review/replays/{world['running'].uid}/",
            "event type list": f"{base}/review/event-types/",
            "event type form (new)": f"{base}/review/event-types/new/",
            "event type form (edit)": f"{base}/review/event-types/order-paid/",
            "event type (code)": f"{base}/review/event-types/user-created/",
            "event type archive confirm": f"{base}/review/event-types/order-paid/archive/",
            "event type archive (code)": f"{base}/review/event-types/user-created/archive/",
            "audit log": f"{base}/review/audit/",
            "delivery detail (staff)": f"{base}/deliveries/{world['failed'].uid}/",
        },
    )
    page.goto(f"{base}/review/event-types/new/")
    page.fill("#id_schema", "{not json")
    page.click("button:has-text('Save')")
    page.wait_for_selector(".field-error")
    report["event type form (errors)"] = {
        "blocking": [v for v in run_axe(page) if v["impact"] in BLOCKING],
        "other": [],
        "layout": page_width_problems(page, width),
    }
    assert_clean(report)


@pytest.mark.parametrize("width", [390], ids=["390px"], indirect=True)
def test_tables_scroll_inside_their_cards_on_a_phone(page, live_server, world, width):
    sign_in(page, live_server, "root")
    page.goto(f"{live_server.url}/review/audit/")
    wrapper = page.locator(".table-scroll").first
    assert wrapper.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert wrapper.evaluate("el => el.scrollWidth > el.clientWidth"), "the table fits anyway?"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # The wrapper can be scrolled with the keyboard: it takes focus and has a name.
    assert wrapper.get_attribute("tabindex") == "0" and wrapper.get_attribute("aria-label")


@pytest.mark.parametrize("width", [390], ids=["390px"], indirect=True)
def test_navigation_wraps_on_a_phone_and_every_link_stays_reachable(
    page, live_server, world, width
):
    sign_in(page, live_server, "root")
    for link in page.locator("nav.mainnav a").all():
        box = link.bounding_box()
        assert link.is_visible() and box and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("width", [1280], ids=["1280px"], indirect=True)
def test_a_form_with_errors_opens_with_a_focused_summary_linking_to_each_field(
    page, live_server, world, width
):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/endpoints/new/")
    page.fill("#id_url", "not a url at all")
    page.click("button:has-text('Add endpoint')")
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    links = summary.locator("a")
    assert links.count() >= 2  # the URL and the event types
    # Each field's aria-describedby names elements that exist and say what is wrong.
    url_input = page.locator("#id_url")
    assert url_input.get_attribute("aria-invalid") == "true"
    described = url_input.get_attribute("aria-describedby").split()
    assert "id_url_error" in described
    for element_id in described:
        assert page.locator(f"#{element_id}").count() == 1, element_id
    assert page.inner_text("#id_url_error").strip()
    # Following a link lands on the field.
    summary.locator("a[href='#id_url']").click()
    assert page.evaluate("() => document.activeElement.id") == "id_url"


@pytest.mark.parametrize("width", [1280], ids=["1280px"], indirect=True)
def test_the_skip_link_is_first_and_the_current_page_is_marked_in_the_nav(
    page, live_server, world, width
):
    sign_in(page, live_server, "root")
    page.goto(f"{live_server.url}/review/failures/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to main content"
    assert skip.is_visible()  # shown while focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    current = page.locator("nav.mainnav a[aria-current='page']")
    assert current.count() == 1 and current.inner_text() == "Failures"


@pytest.mark.parametrize("width", [1280], ids=["1280px"], indirect=True)
def test_archiving_an_event_type_asks_first_and_says_how_many_endpoints_subscribe(
    page, live_server, world, width
):
    sign_in(page, live_server, "root")
    page.goto(f"{live_server.url}/review/event-types/")
    page.locator("tr:has-text('order-paid')").locator("text=Archive").click()
    page.wait_for_selector("h1:has-text('Archive')")
    assert "3 endpoints subscribe" in page.inner_text("main")
    assert not EventType.objects.get(name="order-paid").archived  # nothing happened yet
    page.click("button:has-text('Archive order-paid')")
    page.wait_for_selector("text=Event type order-paid archived")
    assert EventType.objects.get(name="order-paid").archived


@pytest.mark.parametrize("width", [1280], ids=["1280px"], indirect=True)
def test_a_waiting_page_reloads_itself_until_told_to_stop(
    page, live_server, world, width, settings
):
    settings.HOOKHUB_PENDING_REFRESH = 1
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/deliveries/{world['pending'].uid}/")
    page.evaluate("() => { window.sameDocument = true; }")
    with page.expect_navigation(timeout=5_000):
        pass  # reloaded after a second
    page.click("button:has-text('Stop reloading')")
    page.evaluate("() => { window.sameDocument = true; }")
    page.wait_for_timeout(2_500)
    assert page.evaluate("() => window.sameDocument === true"), "reloaded after being stopped"
    assert "Reloading is stopped" in page.inner_text(".refresh-bar")
    # No <meta http-equiv="refresh"> a reader could not stop (it sits in <noscript>).
    assert page.locator("meta[http-equiv='refresh']").count() == 0
