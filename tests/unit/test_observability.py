"""The pure parts of observability: what an inbound counts as, how figures become Prometheus
metrics, the poller lag, the latency buckets, log fields and the JSON log line."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from mailbot.devservers.redis_instance import RedisInstance
from mailbot.observability.ack_latency import BUCKETS, LatencyCounts, read_ack_latency, record_ack_latencies
from mailbot.observability.figures import Figures, RedisFigures, StoreFigures, inbound_kind, poller_lag
from mailbot.observability.logs import (
    ContextFields,
    add_log_fields,
    current_log_fields,
    json_formatter,
    log_fields,
    log_format,
)
from mailbot.observability.metrics import exposition, metric_families

ISSUE_NAMES = {
    "mailbot_inbound_total",
    "mailbot_acknowledgements_total",
    "mailbot_ack_latency_seconds",
    "mailbot_queue_depth",
    "mailbot_failed_jobs",
    "mailbot_sla_breaches_total",
    "mailbot_poller_lag_seconds",
}


def figures(store: bool = True, redis: bool = True) -> Figures:
    return Figures(
        store=StoreFigures(
            inbound={("email", "customer"): 5, ("slack", "platform_event"): 2},
            acknowledgements={("email", "sent"): 4, ("email", "uncertain"): 1},
            sla_breaches=3,
            mailbox_synced={"support": (1, 1000.0), "sales": (2, 900.0)},
        )
        if store
        else None,
        redis=RedisFigures(
            queue_depth={"inbound": 7, "outbox": 0, "lookups": 1},
            failed_jobs=2,
            ack_latency=LatencyCounts(
                buckets=(0, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5), total_seconds=321.5
            ),
            mailbox_current={1: 1090.0},
        )
        if redis
        else None,
        now=1100.0,
    )


@pytest.mark.parametrize(
    ("status", "verdict", "kind"),
    [
        ("received", None, "received"),
        ("processed", "customer", "customer"),
        ("processed", "auto_reply", "auto_reply"),
        ("processed", "bounce", "bounce"),
        ("ignored", "own_echo", "own_echo"),
        ("duplicate", "customer", "duplicate"),  # a copy is not another customer message
        ("quarantined", None, "quarantined"),
        ("quarantined", "customer", "quarantined"),
        ("processed", None, "processed"),
    ],
)
def test_what_an_inbound_counts_as(status: str, verdict: str | None, kind: str) -> None:
    assert inbound_kind(status, verdict) == kind


def test_the_exposition_has_the_issues_names_and_labels() -> None:
    text = exposition(figures).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # The parser names counters without their _total suffix.
    names = {f"{name}_total" if f.type == "counter" else name for name, f in families.items()}
    assert ISSUE_NAMES <= names
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert samples[("mailbot_inbound_total", (("channel", "email"), ("kind", "customer")))] == 5
    assert samples[("mailbot_acknowledgements_total", (("channel", "email"), ("status", "uncertain")))] == 1
    assert samples[("mailbot_queue_depth", (("queue", "inbound"),))] == 7
    assert samples[("mailbot_failed_jobs", ())] == 2
    assert samples[("mailbot_sla_breaches_total", ())] == 3
    assert samples[("mailbot_ack_latency_seconds_bucket", (("le", "30.0"),))] == 3
    assert samples[("mailbot_ack_latency_seconds_bucket", (("le", "+Inf"),))] == 5
    assert samples[("mailbot_ack_latency_seconds_count", ())] == 5
    assert samples[("mailbot_ack_latency_seconds_sum", ())] == 321.5


def test_a_source_that_is_down_leaves_its_families_out_and_says_so() -> None:
    without_redis = {m.name: m for m in metric_families(figures(redis=False))}
    assert "mailbot_queue_depth" not in without_redis and "mailbot_ack_latency_seconds" not in without_redis
    assert "mailbot_inbound" in without_redis  # counters are named without _total here
    up = {tuple(s.labels.values()): s.value for s in without_redis["mailbot_source_up"].samples}
    assert up == {("store",): 1.0, ("redis",): 0.0}
    without_store = {m.name for m in metric_families(figures(store=False))}
    assert "mailbot_inbound" not in without_store and "mailbot_poller_lag_seconds" not in without_store
    assert "mailbot_queue_depth" in without_store


def test_poller_lag_takes_the_later_of_the_sync_and_the_pollers_word() -> None:
    # support: synced at 1000, its poller said "current" at 1090; sales only synced at 900.
    assert poller_lag(figures()) == {"support": 10.0, "sales": 200.0}
    # Without Redis the stored sync is all there is.
    assert poller_lag(figures(redis=False)) == {"support": 100.0, "sales": 200.0}
    assert poller_lag(figures(store=False)) == {}


def test_latency_observations_land_in_cumulative_buckets(redis_server: RedisInstance) -> None:
    redis_server.flush()
    client = redis.Redis.from_url(redis_server.url)
    record_ack_latencies(client, [0.2, 4.0, 29.0])  # one delivery group's
    record_ack_latencies(client, [45.0, 7200.0, -3.0])  # -3: a mail server's clock ahead of ours
    record_ack_latencies(client, [])  # a group that sent no acknowledgement
    counts = read_ack_latency(client)
    by_bound = dict(zip(BUCKETS, counts.buckets, strict=True))
    assert by_bound[0.5] == 2 and by_bound[5.0] == 3 and by_bound[30.0] == 4 and by_bound[60.0] == 5
    assert by_bound[3600.0] == 5 and counts.count == 6
    assert counts.total_seconds == pytest.approx(0.2 + 4 + 29 + 45 + 7200)


def test_recording_latency_never_raises_without_redis() -> None:
    record_ack_latencies(redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5), [1.0])


@pytest.mark.parametrize(
    ("value", "chosen"), [("", "text"), ("text", "text"), ("JSON", "json"), (" json ", "json")]
)
def test_the_log_format_variable(value: str, chosen: str) -> None:
    assert log_format({"MAILBOT_LOG_FORMAT": value}) == chosen
    assert log_format({}) == "text"


def test_an_unknown_log_format_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"MAILBOT_LOG_FORMAT must be one of text, json, not 'logfmt'"):
        log_format({"MAILBOT_LOG_FORMAT": "logfmt"})


def test_log_fields_nest_and_end_with_their_block() -> None:
    with log_fields(inbound_id=7, channel="email"):
        add_log_fields(ticket_ref="MB-ABC123", channel=None)  # None: left as it was
        with log_fields(outbox_id=3):
            assert dict(current_log_fields()) == {
                "inbound_id": 7,
                "channel": "email",
                "ticket_ref": "MB-ABC123",
                "outbox_id": 3,
            }
        assert "outbox_id" not in current_log_fields()
    assert dict(current_log_fields()) == {}


def test_a_thread_starts_without_the_fields_of_another() -> None:
    seen: list[dict[str, object]] = []
    with log_fields(mailbox="support"):
        thread = threading.Thread(target=lambda: seen.append(dict(current_log_fields())))
        thread.start()
        thread.join()
    assert seen == [{}]


def test_a_json_line_per_record_with_the_fields_known_and_null_for_the_rest() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFields())
    logger = logging.getLogger("mailbot.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        with log_fields(inbound_id=12, channel="telegram"):
            logger.warning("line one\nline two é")
            add_log_fields(ticket_ref="MB-7K3Q9P")
            try:
                raise RuntimeError("boom")
            except RuntimeError:
                logger.exception("filing failed")
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3  # a newline in a message or a traceback stays inside its line
    first, second, third = (json.loads(line) for line in lines)
    assert first["message"] == "line one\nline two é" and first["level"] == "WARNING"
    assert first["logger"] == "mailbot.test-json" and first["time"]
    assert (first["inbound_id"], first["channel"], first["ticket_ref"]) == (12, "telegram", None)
    assert second["ticket_ref"] == "MB-7K3Q9P" and "RuntimeError: boom" in second["exc_info"]
    assert (third["inbound_id"], third["channel"], third["ticket_ref"]) == (None, None, None)
