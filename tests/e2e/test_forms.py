"""The public forms end to end over real HTTP: page, CSRF, honeypot, rate limit, thank-you
page naming the reference, ticket filed by a worker, acknowledgement by mail."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import func, select

from mailbot.channels import ChannelSpec, add_channel
from mailbot.store.models import Inbound
from mailbot.web import forms
from tests.fixtures.mail import Desk
from tests.fixtures.web import WebServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _add_form(desk: Desk, name: str, **options: str) -> None:
    with desk.runtime.sessions.begin() as session:
        add_channel(
            session, ChannelSpec(type="form", name=name, options=options), desk.runtime.settings.secret_key
        )


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _submit(http: httpx.Client, url: str, fields: dict[str, str]) -> httpx.Response:
    page = http.get(url)
    assert page.status_code == 200, page.text
    return http.post(url, data={**fields, "csrf_token": _csrf(page.text)})


def _ref_on(page: str) -> str:
    found = re.search(r'class="ticket-ref">(MB-[A-Z0-9]{6})<', page)
    assert found, page
    return found.group(1)


def test_contact_form_names_the_ticket_and_acknowledges_by_mail(
    desk: Desk, web_server: WebServer, db_kind: str
) -> None:
    desk.add_mailbox("support", "support@acme.test")
    _add_form(desk, "web", mailbox="support", language="es")
    with httpx.Client() as http:
        page = http.get(web_server.url("/forms/web"))
        assert "¿En qué podemos ayudarte?" in page.text  # the configured language
        answer = _submit(
            http,
            web_server.url("/forms/web"),
            {"name": "Lucía Pérez", "email": "lucia@correo.test", "message": "Mi pedido 4411 no ha llegado."},
        )
    assert answer.status_code == 200, answer.text
    ref = _ref_on(answer.text)
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["ref"] == ref and ticket["channel"] == "form"
    [message] = ticket["messages"]
    assert message["kind"] == "customer"
    assert message["sender"] == {"type": "email", "value": "lucia@correo.test", "name": "Lucía Pérez"}
    assert "pedido 4411" in message["text"]
    [mail] = desk.smtp.wait_for(1)
    assert mail.rcpt_tos == ["lucia@correo.test"]
    assert ref in str(mail.message["Subject"])


def test_callback_request_is_a_callback_ticket_without_mail(
    desk: Desk, web_server: WebServer, db_kind: str
) -> None:
    _add_form(desk, "callme", language="it")
    with httpx.Client() as http:
        answer = _submit(
            http,
            web_server.url("/forms/callme/callback"),
            {
                "name": "Marco Rossi",
                "phone": "+39 333 123 4567",
                "preferred_time": "dopo le 17",
                "message": "",
            },
        )
    assert answer.status_code == 200, answer.text
    ref = _ref_on(answer.text)
    assert "Ti richiameremo" in answer.text
    desk.work()
    [ticket] = desk.tickets()
    assert ticket["ref"] == ref
    [message] = ticket["messages"]
    assert message["kind"] == "callback"
    assert message["sender"] == {"type": "phone", "value": "+393331234567", "name": "Marco Rossi"}
    assert "dopo le 17" in message["text"]
    assert desk.smtp.received == []  # no e-mail address, no mail


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(
    desk: Desk, web_server: WebServer, db_kind: str
) -> None:
    _add_form(desk, "web")
    answer = httpx.post(web_server.url("/forms/web"), data={"email": "a@b.test", "message": "hello"})
    assert answer.status_code == 400
    with desk.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Inbound)) == 0


def test_the_honeypot_stores_nothing_and_invalid_fields_are_explained(
    desk: Desk, web_server: WebServer, db_kind: str
) -> None:
    _add_form(desk, "web", language="en")
    with httpx.Client() as http:
        bot = _submit(
            http, web_server.url("/forms/web"), {"email": "bot@spam.test", "message": "buy", "website": "x"}
        )
        assert bot.status_code == 200 and "ticket-ref" not in bot.text
        empty = _submit(http, web_server.url("/forms/web"), {"email": "not-an-address", "message": ""})
        assert empty.status_code == 400
        assert "does not look right" in empty.text and "how we can help" in empty.text
    with desk.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Inbound)) == 0


def test_submissions_are_rate_limited_per_client_address(
    desk: Desk, web_server: WebServer, db_kind: str
) -> None:
    _add_form(desk, "web", language="en")
    statuses = []
    with httpx.Client() as http:
        for i in range(forms.MAX_SUBMISSIONS_PER_ADDRESS + 2):
            statuses.append(
                _submit(
                    http, web_server.url("/forms/web"), {"email": f"p{i}@x.test", "message": f"n {i}"}
                ).status_code
            )
    assert statuses[: forms.MAX_SUBMISSIONS_PER_ADDRESS] == [200] * forms.MAX_SUBMISSIONS_PER_ADDRESS
    assert statuses[forms.MAX_SUBMISSIONS_PER_ADDRESS :] == [429, 429]


def test_unknown_form_is_404(desk: Desk, web_server: WebServer, db_kind: str) -> None:
    assert httpx.get(web_server.url("/forms/nope")).status_code == 404


def test_channel_cli_adds_and_lists_a_form_with_secrets_masked(
    mailbot_env: dict[str, str], db_kind: str
) -> None:
    def mailbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mailbot.cli", *args],
            capture_output=True,
            text=True,
            env=_env(mailbot_env),
        )

    added = mailbot(
        "channel", "add", "generic", "crm", "--secret", "s3cr3t-value", "--api-base", "http://127.0.0.1:9"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "/webhooks/generic/crm"
    assert mailbot("channel", "add", "form", "web", "--option", "language=es").stdout.strip() == "/forms/web"
    again = mailbot("channel", "add", "generic", "crm", "--secret", "x")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = mailbot("channel", "add", "slack", "s", "--secret", "x", "--option", "colour=blue")
    assert bad.returncode != 0 and "unknown option" in bad.stderr
    listed = mailbot("channel", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "s3cr3t-value" not in listed.stdout
    import json

    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["crm"]["path"] == "/webhooks/generic/crm" and rows["crm"]["secret"].endswith("ue")
    assert rows["web"]["options"] == {"language": "es"}


def _env(mailbot_env: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, **mailbot_env}
