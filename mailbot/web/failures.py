"""What failed and what to do about it: failed rq jobs, quarantined inbound messages and
outbox rows that failed or are uncertain, each with retry and discard.

These are operations, not configuration: agents may use them too. Each is still written
to the audit log, since a retried acknowledgement is a message sent to a customer."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from mailbot.queue import QUEUE_NAMES, enqueue_delivery, enqueue_processing, queue
from mailbot.statuses import InboundStatus, OutboxStatus
from mailbot.store.models import Inbound, Mailbox, OutboxEntry
from mailbot.timeutil import utcnow
from mailbot.web.audit import record
from mailbot.web.store import db, runtime

bp = Blueprint("failures", __name__)

MAX_LISTED = 200


def _registry(queue_name: str) -> FailedJobRegistry:
    if queue_name not in QUEUE_NAMES:
        abort(404)
    return FailedJobRegistry(queue=queue(runtime(), queue_name))


def failed_job_count(queue_name: str) -> int:
    return _registry(queue_name).count


@dataclass(frozen=True)
class FailedJob:
    queue_name: str
    job: Job
    error: str  # the traceback rq kept


def _failed_jobs() -> list[FailedJob]:
    found: list[FailedJob] = []
    for name in QUEUE_NAMES:
        ids = _registry(name).get_job_ids(0, MAX_LISTED - 1, desc=True)
        for job in Job.fetch_many(ids, connection=runtime().redis):
            if job is not None:
                result = job.latest_result()
                found.append(FailedJob(name, job, (result.exc_string if result else None) or ""))
    return found


@bp.route("/failures")
def index() -> str:
    quarantined = list(
        db().scalars(
            select(Inbound)
            .where(Inbound.status == InboundStatus.QUARANTINED)
            .order_by(Inbound.id.desc())
            .limit(MAX_LISTED)
        )
    )
    outbox = list(
        db().scalars(
            select(OutboxEntry)
            .where(OutboxEntry.status.in_((OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)))
            .order_by(OutboxEntry.id.desc())
            .limit(MAX_LISTED)
        )
    )
    mailbox_names = {row.id: row.name for row in db().execute(select(Mailbox.id, Mailbox.name))}
    return render_template(
        "panel/failures.html",
        jobs=_failed_jobs(),
        quarantined=quarantined,
        outbox=outbox,
        mailbox_names=mailbox_names,
    )


# -- rq jobs ---------------------------------------------------------------------------


def _job_in_registry(queue_name: str, job_id: str) -> FailedJobRegistry:
    registry = _registry(queue_name)
    if job_id not in registry.get_job_ids():
        abort(404, description="That job is no longer among the failed jobs.")
    return registry


@bp.route("/failures/jobs/<queue_name>/<job_id>/retry", methods=["POST"])
def retry_job(queue_name: str, job_id: str) -> ResponseReturnValue:
    registry = _job_in_registry(queue_name, job_id)
    try:
        registry.requeue(job_id)
    except NoSuchJobError:
        abort(404)
    record(db(), "job.retry", f"{queue_name}:{job_id}")
    db().commit()
    flash(f"Job {job_id} is queued again.", "info")
    return redirect(url_for("failures.index"))


@bp.route("/failures/jobs/<queue_name>/<job_id>/discard", methods=["POST"])
def discard_job(queue_name: str, job_id: str) -> ResponseReturnValue:
    registry = _job_in_registry(queue_name, job_id)
    registry.remove(job_id, delete_job=True)
    record(db(), "job.discard", f"{queue_name}:{job_id}")
    db().commit()
    flash(f"Job {job_id} is discarded.", "info")
    return redirect(url_for("failures.index"))


# -- quarantined inbound ---------------------------------------------------------------


def _quarantined(inbound_id: int) -> Inbound:
    row = db().get(Inbound, inbound_id)
    if row is None or row.status != InboundStatus.QUARANTINED:
        abort(404, description="That message is not in quarantine (any more).")
    return row


@bp.route("/failures/inbound/<int:inbound_id>/raw")
def inbound_raw(inbound_id: int) -> ResponseReturnValue:
    row = db().get(Inbound, inbound_id)
    if row is None:
        abort(404)
    # A download, never rendered: the raw message is the most untrusted thing we hold.
    response = Response(row.raw, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="inbound-{row.id}.eml"'
    return response


@bp.route("/failures/inbound/<int:inbound_id>/retry", methods=["POST"])
def retry_inbound(inbound_id: int) -> ResponseReturnValue:
    row = _quarantined(inbound_id)
    before = {"status": row.status, "attempts": row.attempts, "error": row.error}
    row.status, row.attempts = InboundStatus.RECEIVED, 0
    record(db(), "inbound.retry", f"inbound:{row.id}", before, {"status": "received", "attempts": 0})
    db().commit()  # committed before the job exists, so the job finds the row ready
    enqueue_processing(runtime(), [row.id])
    flash(f"Message {row.id} goes through the pipeline again.", "info")
    return redirect(url_for("failures.index"))


@bp.route("/failures/inbound/<int:inbound_id>/discard", methods=["POST"])
def discard_inbound(inbound_id: int) -> ResponseReturnValue:
    row = _quarantined(inbound_id)
    record(db(), "inbound.discard", f"inbound:{row.id}", {"status": row.status}, {"status": "discarded"})
    row.status = "discarded"
    db().commit()
    flash(f"Message {row.id} is discarded (its raw bytes are kept).", "info")
    return redirect(url_for("failures.index"))


# -- outbox ----------------------------------------------------------------------------


def _failed_outbox(outbox_id: int) -> OutboxEntry:
    row = db().get(OutboxEntry, outbox_id)
    if row is None or row.status not in {OutboxStatus.FAILED, OutboxStatus.UNCERTAIN}:
        abort(404, description="That outbox entry has not failed (any more).")
    return row


@bp.route("/failures/outbox/<int:outbox_id>/retry", methods=["POST"])
def retry_outbox(outbox_id: int) -> ResponseReturnValue:
    row = _failed_outbox(outbox_id)
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    # A full set of attempts again: the admin has presumably fixed what made it fail.
    row.status, row.next_attempt_at, row.attempts = OutboxStatus.PENDING, utcnow(), 0
    record(db(), "outbox.retry", row.key, before, {"status": "pending", "attempts": 0})
    db().commit()
    enqueue_delivery(runtime(), [row.id])
    flash(f"{row.key} will be sent again.", "info")
    return redirect(url_for("failures.index"))


@bp.route("/failures/outbox/<int:outbox_id>/discard", methods=["POST"])
def discard_outbox(outbox_id: int) -> ResponseReturnValue:
    row = _failed_outbox(outbox_id)
    record(db(), "outbox.discard", row.key, {"status": row.status}, {"status": "discarded"})
    row.status = "discarded"
    db().commit()
    flash(f"{row.key} is discarded and will not be sent.", "info")
    return redirect(url_for("failures.index"))
