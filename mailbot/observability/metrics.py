"""The Prometheus exposition of `Figures`: names and labels as issue 12 fixes them.

Built with prometheus_client's metric families on a registry of our own per scrape
source, so every web process (gunicorn runs several) renders the same shared figures
and none keeps counts in its memory that the others would not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from mailbot.observability.ack_latency import BUCKETS, bucket_field
from mailbot.observability.figures import Figures, poller_lag


def metric_families(figures: Figures) -> list[Metric]:
    families: list[Metric] = []
    up = GaugeMetricFamily(
        "mailbot_source_up", "Whether the scrape could read the source (1) or not (0).", labels=["source"]
    )
    up.add_metric(["store"], 1.0 if figures.store else 0.0)
    up.add_metric(["redis"], 1.0 if figures.redis else 0.0)
    families.append(up)
    store = figures.store
    if store is not None:
        inbound = CounterMetricFamily(
            "mailbot_inbound_total",
            "Inbound messages stored, by channel and by what the pipeline made of them.",
            labels=["channel", "kind"],
        )
        for (channel, kind), count in sorted(store.inbound.items()):
            inbound.add_metric([channel, kind], count)
        acks = CounterMetricFamily(
            "mailbot_acknowledgements_total",
            "Acknowledgements promised to customers, by channel and outbox status.",
            labels=["channel", "status"],
        )
        for (channel, status), count in sorted(store.acknowledgements.items()):
            acks.add_metric([channel, status], count)
        breaches = CounterMetricFamily(
            "mailbot_sla_breaches_total",
            "Tickets whose first response came after its deadline, or has not come and is overdue.",
        )
        breaches.add_metric([], store.sla_breaches)
        lag = GaugeMetricFamily(
            "mailbot_poller_lag_seconds",
            "Seconds since each enabled mailbox was last known to be fully synced.",
            labels=["mailbox"],
        )
        for name, seconds in sorted(poller_lag(figures).items()):
            lag.add_metric([name], round(seconds, 3))
        families += [inbound, acks, breaches, lag]
    redis_figures = figures.redis
    if redis_figures is not None:
        depth = GaugeMetricFamily("mailbot_queue_depth", "Jobs waiting in each rq queue.", labels=["queue"])
        for name, count in sorted(redis_figures.queue_depth.items()):
            depth.add_metric([name], count)
        failed = GaugeMetricFamily("mailbot_failed_jobs", "Jobs in rq's failed-job registries, all queues.")
        failed.add_metric([], redis_figures.failed_jobs)
        latency = redis_figures.ack_latency
        histogram = HistogramMetricFamily(
            "mailbot_ack_latency_seconds",
            "Seconds from a customer's message arriving to its acknowledgement being sent.",
            buckets=[
                (bucket_field(bound), count) for bound, count in zip(BUCKETS, latency.buckets, strict=True)
            ],
            sum_value=latency.total_seconds,
        )
        families += [depth, failed, histogram]
    return families


class FiguresCollector(Collector):
    def __init__(self, load: Callable[[], Figures]) -> None:
        self.load = load

    def collect(self) -> Iterator[Metric]:
        yield from metric_families(self.load())


def exposition(load: Callable[[], Figures]) -> bytes:
    """The text format of one scrape, figures loaded once."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(load))
    return generate_latest(registry)
