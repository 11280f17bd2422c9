"""The panel in real Chromium (apt's /usr/bin/chromium; Playwright never downloads one):
log in, add a mailbox and test it against the test Dovecot, edit a template and watch
the preview, retry a failed job, open a ticket. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from rq import SimpleWorker
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.queue import INBOUND_QUEUE, queue
from mailbot.runtime import current_runtime
from tests.panel.conftest import ADMIN
from tests.panel.seed import XSS_HTML, add_ticket

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=name).click()


def log_in(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    shot(page, "login")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_log_in_and_see_the_dashboard(page: Page, session: Session) -> None:
    add_ticket(session, "MB-DASH01")
    session.commit()
    log_in(page)
    expect(page.get_by_text("MB-DASH01").first).to_be_visible()
    shot(page, "dashboard")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Email")).to_be_visible()


def test_add_a_mailbox_and_test_its_connection(
    page: Page, dovecot: DovecotServer, smtp_server: SmtpSink
) -> None:
    log_in(page)
    nav(page, "Mailboxes")
    page.get_by_role("link", name="Add a mailbox").click()
    page.get_by_label("Name").fill("support")
    page.get_by_label("Support address").fill("support@example.com")
    imap = page.locator("fieldset", has_text="IMAP (incoming)")
    imap.get_by_label("Host").fill(dovecot.host)
    imap.get_by_label("Port").fill(str(dovecot.imap_port))
    imap.get_by_label("Security").select_option("none")
    imap.get_by_label("User").fill("support")
    imap.get_by_label("Password").fill("secret")
    smtp = page.locator("fieldset", has_text="SMTP (outgoing)")
    smtp.get_by_label("Host").fill(smtp_server.host)
    smtp.get_by_label("Port").fill(str(smtp_server.port))
    smtp.get_by_label("Security").select_option("none")
    shot(page, "mailbox-new")
    page.get_by_role("button", name="Add mailbox").click()
    expect(page.get_by_text("Mailbox support added")).to_be_visible()
    expect(page.locator(".mask").first).to_have_text("••••••••")  # never the secret itself
    page.get_by_role("button", name="Test connection").click()
    imap_result = page.locator(".test-result[data-server=IMAP]")
    expect(imap_result).to_contain_text("OK")
    expect(imap_result).to_contain_text("Folder INBOX:")
    smtp_result = page.locator(".test-result[data-server=SMTP]")
    expect(smtp_result).to_contain_text("MAIL FROM:<support@example.com>: 250")
    shot(page, "mailbox-test-connection")
    nav(page, "Mailboxes")
    shot(page, "mailboxes")


def test_edit_a_template_and_see_the_live_preview(page: Page) -> None:
    log_in(page)
    nav(page, "Templates")
    shot(page, "templates")
    page.get_by_role("link", name="en", exact=True).click()
    expect(page.locator("#preview-subject")).to_have_text("[#MB-7K3Q9P] My order #1234 has not arrived")
    page.locator("#source").fill(
        "{% block subject %}We got it: {{ subject }} ({{ ref }}){% endblock %}\n"
        "{% block body %}Dear {{ name }}, thanks!{% endblock %}\n"
    )
    # No click: the preview follows the typing.
    expect(page.locator("#preview-subject")).to_have_text(
        "We got it: My order #1234 has not arrived (MB-7K3Q9P)"
    )
    expect(page.locator("#preview-body")).to_have_text("Dear Ana, thanks!")
    shot(page, "template-preview")
    page.locator("#source").fill("{% block subject %}{{ ref }{% endblock %}")
    expect(page.locator("#template-error")).to_contain_text("line 1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Not saved")).to_be_visible()


def test_retry_a_failed_job(page: Page) -> None:
    runtime = current_runtime()
    inbound = queue(runtime, INBOUND_QUEUE)
    job = inbound.enqueue("tests.panel.failing_job.explode", "in the browser test")
    SimpleWorker([inbound], connection=runtime.redis).work(burst=True)
    log_in(page)
    nav(page, "Failures")
    row = page.locator("tr", has_text=job.id)
    expect(row).to_contain_text("RuntimeError: boom: in the browser test")
    shot(page, "failures")
    row.get_by_role("button", name="Retry").click()
    expect(page.get_by_text(f"Job {job.id} is queued again.")).to_be_visible()
    assert inbound.job_ids == [job.id]


def test_open_a_ticket_with_its_context(
    page: Page, browser: Browser, live_server: str, session: Session
) -> None:
    add_ticket(session, "MB-OLD001", "An earlier question")
    add_ticket(session, "MB-CTX001", "Parcel <b>damaged</b>", text="The box arrived crushed.", html=XSS_HTML)
    session.commit()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page)
    nav(page, "Tickets")
    shot(page, "tickets")
    page.get_by_role("link", name="MB-CTX001").click()
    expect(page.get_by_role("heading", name="Parcel <b>damaged</b>")).to_be_visible()
    expect(page.get_by_text("The box arrived crushed.")).to_be_visible()
    expect(page.locator(".context")).to_contain_text("MB-OLD001")
    expect(page.locator(".context")).to_contain_text("ana@example.net")
    page.get_by_text("HTML version (sanitised)").click()
    expect(page.locator(".html-body b")).to_have_text("there")
    shot(page, "ticket")
    assert dialogs == []  # no alert() from the subject or the HTML body ran

    phone = browser.new_context(
        base_url=live_server,
        viewport={"width": 390, "height": 844},
        storage_state=page.context.storage_state(),
    )
    small = phone.new_page()
    small.goto("/tickets/MB-CTX001")
    expect(small.get_by_text("The box arrived crushed.")).to_be_visible()
    shot(small, "ticket-phone")
    small.goto("/")
    shot(small, "dashboard-phone")
    phone.close()
