"""Reading and changing tickets through the API, on tickets the pipeline filed from real
mail (and a web form): the same JSON as the command line, filters, cursor pages, PATCH
and its validation, 404 for an unknown reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mailbot.channels import ChannelSpec, add_channel
from mailbot.sla.store import save_config
from mailbot.store.models import Ticket
from mailbot.ticket_json import ticket_by_ref_json
from mailbot.timeutil import as_utc, utcnow
from tests.api.conftest import Api
from tests.e2e.test_forms import _ref_on, _submit
from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SENDERS = [
    ("Ana García <ana.garcia@gmail.test>", "Mi pedido no ha llegado"),
    ("John Smith <john@outlook.test>", "Refund for a damaged parcel"),
    ("Marie Curie <marie@free.test>", "Facture en double"),
    ("Luca Bianchi <luca@libero.test>", "Fattura sbagliata"),
    ("Hans Meier <hans@web.test>", "Lieferung fehlt"),
    ("Ana García <ana.garcia@gmail.test>", "Otra pregunta sobre la factura"),
    ("Zoe Lee <zoe@yahoo.test>", "Cannot log in"),
]


def _file(desk: Desk, support: tuple[str, str]) -> list[dict[str, Any]]:
    for i, (sender, subject) in enumerate(SENDERS):
        desk.dovecot.append(
            *support,
            customer_mail(f"api.{i}@mail.test", sender=sender, subject=subject, body=f"{subject}: case {i}."),
        )
    desk.run()
    tickets = desk.tickets()
    assert len(tickets) == len(SENDERS)
    return tickets


def _all_pages(http: httpx.Client, **params: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        answer = http.get("/tickets", params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([t["ref"] for t in body["tickets"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor does not advance"


def test_a_ticket_is_the_same_json_as_the_command_line_gives(
    api: Api, desk: Desk, support: tuple[str, str]
) -> None:
    tickets = _file(desk, support)
    http = api.client("reader")
    ref = tickets[0]["ref"]
    answer = http.get(f"/tickets/{ref}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"  # customer data
    with desk.runtime.sessions() as session:
        assert answer.json() == ticket_by_ref_json(session, ref)
    assert http.get(f"/tickets/{ref.lower()}").json()["ref"] == ref
    messages = http.get(f"/tickets/{ref}/messages")
    assert messages.status_code == 200
    assert messages.json() == {"messages": answer.json()["messages"]}
    assert answer.json()["queue"] == "support" and answer.json()["tags"] == []

    for path in ("/tickets/MB-ZZZZZZ", "/tickets/MB-ZZZZZZ/messages", "/tickets/nonsense"):
        missing = http.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found" and "There is no ticket" in missing.json()["message"]
    # A path no route knows is the API's JSON too, not the panel's login page.
    unknown = http.get("/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    wrong_method = http.delete(f"/tickets/{ref}")
    assert wrong_method.status_code == 405 and "PATCH" in wrong_method.headers["Allow"]


def test_pages_follow_the_cursor_oldest_change_first(api: Api, desk: Desk, support: tuple[str, str]) -> None:
    tickets = _file(desk, support)
    http = api.client("reader")
    pages = _all_pages(http, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [ref for page in pages for ref in page]
    assert sorted(seen) == sorted(t["ref"] for t in tickets)  # each once, none missed
    with desk.runtime.sessions() as session:
        changed = {t.ref: as_utc(t.updated_at) for t in session.scalars(select(Ticket))}
    assert [changed[ref] for ref in seen] == sorted(changed.values())

    # A change moves the ticket to the end: a client paging on sees it again, once.
    first = seen[0]
    assert api.client("writer").patch(f"/tickets/{first}", json={"tags": ["vip"]}).status_code == 200
    again = [ref for page in _all_pages(http, limit=3) for ref in page]
    assert again == [*seen[1:], first]
    assert _all_pages(http, limit=100) == [again]

    # A cursor past the last change ends the listing; a malformed one is refused.
    end = http.get("/tickets", params={"cursor": "99999999999999999999-1"})
    assert end.status_code == 200 and end.json() == {"tickets": [], "next_cursor": None}
    for bad in ({"cursor": "abc"}, {"limit": 0}, {"limit": 101}, {"limit": "ten"}):
        refused = http.get("/tickets", params=bad)
        assert refused.status_code == 422, bad
        assert set(refused.json()["details"]) == set(bad)


def test_filters_combine(api: Api, desk: Desk, support: tuple[str, str], web_server) -> None:  # type: ignore[no-untyped-def]
    tickets = _file(desk, support)
    by_subject = {t["subject"]: t["ref"] for t in tickets}
    writer, reader = api.client("writer"), api.client("reader")
    refund, facture = by_subject["Refund for a damaged parcel"], by_subject["Facture en double"]
    assert (
        writer.patch(f"/tickets/{refund}", json={"status": "pending", "queue": "billing"}).status_code == 200
    )
    assert writer.patch(f"/tickets/{facture}", json={"queue": "billing"}).status_code == 200
    # A ticket from the web form: another channel.
    with desk.runtime.sessions.begin() as session:
        add_channel(session, ChannelSpec(type="form", name="web"), desk.runtime.settings.secret_key)
    with httpx.Client() as browser:
        page = _submit(
            browser, web_server.url("/forms/web"), {"email": "zoe@yahoo.test", "message": "Hello?"}
        )
    form_ref = _ref_on(page.text)
    desk.work()

    def refs(**params: Any) -> set[str]:
        answer = reader.get("/tickets", params={**params, "limit": 100})
        assert answer.status_code == 200, answer.text
        return {t["ref"] for t in answer.json()["tickets"]}

    everything = {t["ref"] for t in tickets} | {form_ref}
    assert refs() == everything
    assert refs(status="pending") == {refund}
    assert refs(status="open") == everything - {refund}
    assert refs(status="closed") == set()
    assert refs(queue="billing") == {refund, facture}
    assert refs(queue="billing", status="open") == {facture}
    assert refs(channel="form") == {form_ref}
    assert refs(channel="email") == everything - {form_ref}
    ana = {by_subject["Mi pedido no ha llegado"], by_subject["Otra pregunta sobre la factura"]}
    assert refs(contact="ana.garcia@gmail.test") == ana
    assert refs(contact="Ana.Garcia@GMAIL.test") == ana  # addresses are compared as mail compares them
    assert refs(contact="zoe@yahoo.test") == {
        by_subject["Cannot log in"],
        form_ref,
    }  # one customer, two channels
    assert refs(contact="nobody@nowhere.test") == set()

    now = datetime.now(UTC)
    assert refs(updated_since=(now - timedelta(days=1)).isoformat()) == everything
    assert refs(updated_since=(now + timedelta(minutes=5)).isoformat()) == set()
    with desk.runtime.sessions() as session:
        form_changed = as_utc(session.scalar(select(Ticket.updated_at).where(Ticket.ref == form_ref)))
    assert refs(updated_since=form_changed.isoformat()) == {form_ref}  # "since" includes the instant
    for bad in (
        {"status": "done"},
        {"updated_since": "yesterday"},
        {"updated_since": "2026-11-23T10:00:00"},  # RFC 3339 wants the offset
        {"queue": "two words"},
    ):
        refused = reader.get("/tickets", params=bad)
        assert refused.status_code == 422, bad
        assert set(refused.json()["details"]) == set(bad), refused.json()


BY_PRIORITY = {
    "policies": [
        {"name": "high", "priorities": ["urgent", "high"], "first_response_minutes": 8 * 60},
        {"name": "rest", "first_response_minutes": 24 * 60},
    ]
}


def test_patch_changes_what_it_names_and_nothing_else(api: Api, desk: Desk, support: tuple[str, str]) -> None:
    with desk.runtime.sessions.begin() as session:  # first-response targets by priority
        save_config(session, BY_PRIORITY, utcnow())
    ref = _file(desk, support)[1]["ref"]
    http = api.client("writer")
    before = api.client("reader").get(f"/tickets/{ref}").json()
    answer = http.patch(
        f"/tickets/{ref}",
        json={
            "status": "pending",
            "priority": "high",
            "queue": "returns",
            "assignee": "jane@acme.test",
            "tags": ["refund", "damaged"],
        },
    )
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert (after["status"], after["priority"], after["queue"], after["assignee"], after["tags"]) == (
        "pending",
        "high",
        "returns",
        "jane@acme.test",
        ["refund", "damaged"],
    )
    changed = {"status", "priority", "queue", "assignee", "tags", "sla_due_at"}
    unchanged = {k for k in before if k not in changed}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert api.client("reader").get(f"/tickets/{ref}").json() == after  # stored, not only answered

    # The first-response clock follows the new priority's SLA policy (8 hours for high).
    created = datetime.fromisoformat(after["created_at"])
    assert datetime.fromisoformat(before["sla_due_at"]) - created == timedelta(hours=24)
    assert datetime.fromisoformat(after["sla_due_at"]) - created == timedelta(hours=8)
    with desk.runtime.sessions() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert ticket is not None and ticket.first_response_due_at is not None
        assert as_utc(ticket.first_response_due_at) - as_utc(ticket.created_at) == timedelta(hours=8)

    assert http.patch(f"/tickets/{ref}", json={"assignee": None}).json()["assignee"] is None
    assert http.patch(f"/tickets/{ref}", json={}).json()["status"] == "pending"  # nothing asked, nothing done
    assert http.patch("/tickets/MB-ZZZZZZ", json={"queue": "returns"}).status_code == 404


def test_the_status_follows_its_lifecycle(api: Api, desk: Desk, support: tuple[str, str]) -> None:
    ref = _file(desk, support)[0]["ref"]
    http = api.client("writer")

    def move(status: str) -> httpx.Response:
        return http.patch(f"/tickets/{ref}", json={"status": status})

    refused = move("closed")  # closed only once solved
    assert refused.status_code == 409
    assert (
        refused.json()["error"] == "status_not_allowed"
        and "open ticket can become" in refused.json()["message"]
    )
    for status in ("pending", "open", "solved", "pending", "solved", "closed"):
        assert move(status).status_code == 200, status
    for status in ("open", "pending", "solved"):  # closed is final for agents
        assert move(status).status_code == 409, status
    assert move("closed").status_code == 200  # asking for what already is changes nothing
    assert api.client("reader").get(f"/tickets/{ref}").json()["status"] == "closed"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "done"},
        {"priority": "critical"},
        {"queue": ""},
        {"queue": "two words"},
        {"assignee": 42},
        {"assignee": ""},
        {"assignee": "line\nbreak"},
        {"tags": "refund"},
        {"tags": [1]},
        {"tags": ["a", "a"]},
        {"tags": [f"t{i}" for i in range(21)]},
        {"subject": "not changeable"},
        {"queue": "nul\u0000byte"},
    ],
)
def test_patch_refuses_what_is_not_valid_and_changes_nothing(
    api: Api, desk: Desk, support: tuple[str, str], body: dict[str, Any]
) -> None:
    desk.dovecot.append(*support, customer_mail("patch.invalid@mail.test"))
    desk.run()
    [ticket] = desk.tickets()
    http = api.client("writer")
    answer = http.patch(
        f"/tickets/{ticket['ref']}", json={**body, "priority": body.get("priority", "urgent")}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_fields"
    assert set(answer.json()["details"]) == set(body), answer.json()
    assert api.client("reader").get(f"/tickets/{ticket['ref']}").json() == desk.tickets()[0] == ticket


def test_a_body_that_is_not_a_json_object_is_400(api: Api, desk: Desk, support: tuple[str, str]) -> None:
    desk.dovecot.append(*support, customer_mail("patch.body@mail.test"))
    desk.run()
    [ticket] = desk.tickets()
    http = api.client("writer")
    for content, kind in (
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"q=1", "text/plain"),
    ):
        answer = http.patch(f"/tickets/{ticket['ref']}", content=content, headers={"Content-Type": kind})
        assert answer.status_code == 400, content
        assert answer.json()["error"] == "invalid_body"
