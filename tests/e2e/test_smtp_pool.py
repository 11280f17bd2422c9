"""SMTP connections outlive a delivery job in the same worker (senders/smtp_pool.py): seen
from the sink, two jobs share one connection, and a connection the server dropped while
idle is replaced before anything is handed over, each message delivered once."""

from __future__ import annotations

from tests.fixtures.mail import Desk
from tests.fixtures.messages import customer_mail, outbox_rows


def _ask(desk: Desk, support: tuple[str, str], n: int) -> None:
    user, password = support
    desk.dovecot.append(
        user,
        password,
        customer_mail(
            f"pool{n}@mail.gmail.test",
            sender=f"Cliente {n} <cliente{n}@gmail.test>",
            subject=f"Consulta {n}",
            body=f"Hola, tengo la consulta número {n} sobre mi pedido.",
        ),
    )


def test_two_delivery_jobs_share_one_connection(desk: Desk, support: tuple[str, str]) -> None:
    _ask(desk, support, 1)
    desk.run()
    assert len(desk.smtp.wait_for(1)) == 1
    _ask(desk, support, 2)
    desk.run()  # another poll, another filing job, another delivery job
    received = desk.smtp.wait_for(2)
    assert sorted(r for m in received for r in m.rcpt_tos) == ["cliente1@gmail.test", "cliente2@gmail.test"]
    assert len(desk.smtp.sessions_seen) == 1
    assert [row.status for row in outbox_rows(desk.runtime)] == ["sent", "sent"]


def test_a_connection_the_server_closed_while_idle_is_replaced(desk: Desk, support: tuple[str, str]) -> None:
    _ask(desk, support, 1)
    desk.run()
    assert len(desk.smtp.wait_for(1)) == 1
    # The server goes away and comes back on the same port: the pooled connection is dead.
    desk.smtp.stop()
    desk.smtp.start()
    _ask(desk, support, 2)
    desk.run()
    received = desk.smtp.wait_for(2)
    assert sorted(r for m in received for r in m.rcpt_tos) == ["cliente1@gmail.test", "cliente2@gmail.test"]
    assert [row.status for row in outbox_rows(desk.runtime)] == ["sent", "sent"]
    assert all(row.attempts == 1 for row in outbox_rows(desk.runtime))  # no retry was needed
