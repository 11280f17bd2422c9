"""Failed rq jobs, quarantined messages and failed sends: list, retry, discard."""

from __future__ import annotations

from dataclasses import replace

from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy.orm import Session

from mailbot.pipeline.process import process_inbound
from mailbot.queue import INBOUND_QUEUE, OUTBOX_QUEUE, queue
from mailbot.runtime import current_runtime
from mailbot.store.models import Inbound, OutboxEntry
from tests.fuzz.seeds import nested_mail
from tests.panel.conftest import post, reload
from tests.panel.seed import add_failed_outbox, add_quarantined, add_ticket


def _fail_a_job() -> str:
    runtime = current_runtime()
    inbound = queue(runtime, INBOUND_QUEUE)
    job = inbound.enqueue("tests.panel.failing_job.explode", "<b>bad</b>")
    SimpleWorker([inbound], connection=runtime.redis).work(burst=True)
    assert FailedJobRegistry(queue=inbound).get_job_ids() == [job.id]
    return job.id


def test_failed_job_retry_and_discard(agent_client: FlaskClient) -> None:
    job_id = _fail_a_job()
    page = agent_client.get("/failures").get_data(as_text=True)
    assert job_id in page and "RuntimeError: boom: &lt;b&gt;bad&lt;/b&gt;" in page
    assert "Failures" in agent_client.get("/").get_data(as_text=True)

    assert post(agent_client, f"/failures/jobs/inbound/{job_id}/retry").status_code == 302
    inbound = queue(current_runtime(), INBOUND_QUEUE)
    assert inbound.job_ids == [job_id]
    assert FailedJobRegistry(queue=inbound).count == 0

    SimpleWorker([inbound], connection=current_runtime().redis).work(burst=True)
    assert post(agent_client, f"/failures/jobs/inbound/{job_id}/discard").status_code == 302
    assert FailedJobRegistry(queue=inbound).count == 0
    assert not current_runtime().redis.exists(f"rq:job:{job_id}")
    assert post(agent_client, f"/failures/jobs/inbound/{job_id}/retry").status_code == 404
    assert post(agent_client, "/failures/jobs/other/x/retry").status_code == 404


def test_quarantined_message_download_retry_discard(agent_client: FlaskClient, session: Session) -> None:
    raw = b"Subject: broken\r\n\r\n\xff<script>alert(1)</script>"
    first, second = add_quarantined(session, raw), add_quarantined(session, raw + b"2")
    session.commit()
    first_id, second_id = first.id, second.id  # reload() expires the objects
    page = agent_client.get("/failures").get_data(as_text=True)
    assert "UnparseableMessage: no From header" in page and f"{len(raw)} B" in page

    download = agent_client.get(f"/failures/inbound/{first_id}/raw")
    assert download.data == raw
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"] == f'attachment; filename="inbound-{first_id}.eml"'

    assert post(agent_client, f"/failures/inbound/{first_id}/retry").status_code == 302
    row = reload(session, Inbound, first_id)
    assert row is not None and (row.status, row.attempts) == ("received", 0)
    job = queue(current_runtime(), INBOUND_QUEUE).jobs[0]
    assert job.func_name == "mailbot.jobs.process_inbound_batch" and job.args == ([first_id],)

    assert post(agent_client, f"/failures/inbound/{second_id}/discard").status_code == 302
    discarded = reload(session, Inbound, second_id)
    assert discarded is not None and discarded.status == "discarded"
    assert post(agent_client, f"/failures/inbound/{second_id}/retry").status_code == 404


def test_failed_send_retry_and_discard(admin_client: FlaskClient, session: Session) -> None:
    failed = add_failed_outbox(session, add_ticket(session, "MB-AAAAAA"))
    uncertain = add_failed_outbox(session, add_ticket(session, "MB-BBBBBB"), status="uncertain")
    session.commit()
    failed_id, uncertain_id = failed.id, uncertain.id
    page = admin_client.get("/failures").get_data(as_text=True)
    assert "ack:MB-AAAAAA" in page and "SMTP 550: mailbox unavailable" in page and "uncertain" in page

    assert post(admin_client, f"/failures/outbox/{failed_id}/retry").status_code == 302
    row = reload(session, OutboxEntry, failed_id)
    assert row is not None and (row.status, row.attempts) == ("pending", 0)
    assert queue(current_runtime(), OUTBOX_QUEUE).jobs[0].args == ([failed_id],)

    assert post(admin_client, f"/failures/outbox/{uncertain_id}/discard").status_code == 302
    row = reload(session, OutboxEntry, uncertain_id)
    assert row is not None and row.status == "discarded"
    audit = admin_client.get("/audit").get_data(as_text=True)
    assert "outbox.retry" in audit and "outbox.discard" in audit


def test_dashboard_counts(agent_client: FlaskClient, session: Session) -> None:
    add_ticket(session, "MB-AAAAAA")
    add_quarantined(session)
    session.commit()
    _fail_a_job()
    page = agent_client.get("/").get_data(as_text=True)
    assert "Messages today" in page and "email: <strong>2</strong>" in page
    assert "MB-AAAAAA" in page  # unacknowledged, and its first response is due within the hour
    assert "failed jobs: 1" in page and "quarantined messages: 1" in page


def test_redis_down_gives_a_clear_error_page(agent_client: FlaskClient) -> None:
    app = agent_client.application
    runtime = app.extensions["mailbot.runtime"]
    app.extensions["mailbot.runtime"] = replace(runtime, redis_url="redis://127.0.0.1:1/0")
    response = agent_client.get("/")
    assert response.status_code == 503
    assert "Redis does not answer" in response.get_data(as_text=True)


def test_a_parser_bomb_filed_by_the_pipeline_shows_its_error_and_downloads_whole(
    agent_client: FlaskClient, session: Session
) -> None:
    raw = nested_mail(1000)
    row = add_quarantined(session, raw)
    row.status, row.error, row.attempts = "received", None, 0  # as the poller stores it
    session.commit()
    row_id = row.id
    outcome = process_inbound(current_runtime(), row_id)
    assert outcome.status == "quarantined"
    page = agent_client.get("/failures").get_data(as_text=True)
    assert "unparseable: MIME parts nested too deeply to read (the limit is 50 levels)" in page
    assert agent_client.get(f"/failures/inbound/{row_id}/raw").data == raw
