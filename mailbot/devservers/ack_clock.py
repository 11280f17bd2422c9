"""When each acknowledgement reached an SMTP sink, for tests and benchmarks that time them.

Keyed by the Message-ID an acknowledgement answers (its In-Reply-To). The clock waits on
the sink's own arrival signal, so a time is taken when the mail arrives, not at some
polling interval.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from mailbot.devservers.smtp_sink import SmtpSink


class AckClock:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.arrived: dict[str, float] = {}  # Message-ID answered -> time.monotonic()
        self.counts: Counter[str] = Counter()  # Message-ID answered -> answers seen
        self.count = 0
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="ack-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def __enter__(self) -> AckClock:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        seen = 0
        while not self._stop.is_set():
            try:
                received = self.sink.wait_for(seen + 1, timeout=0.2)
            except TimeoutError:
                continue
            now = time.monotonic()
            with self._changed:
                for mail in received[seen:]:
                    answered = (mail.message.get("In-Reply-To") or "").strip().strip("<>")
                    self.arrived.setdefault(answered, now)
                    self.counts[answered] += 1
                seen = self.count = len(received)
                self._changed.notify_all()

    def wait_count(self, count: int, deadline: float) -> bool:
        """Until `count` acknowledgements arrived (True) or time.monotonic() passes `deadline`."""
        with self._changed:
            while self.count < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 1.0))
            return True

    def last_arrival(self) -> float:
        """When the latest acknowledgement arrived (time.monotonic())."""
        with self._changed:
            return max(self.arrived.values(), default=time.monotonic())

    def when(self, message_id: str) -> float | None:
        with self._changed:
            return self.arrived.get(message_id)

    def wait_for(self, message_id: str, timeout: float) -> float:
        """When the answer to `message_id` arrived; TimeoutError if not within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while message_id not in self.arrived:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no acknowledgement of {message_id} within {timeout:.1f}s")
                self._changed.wait(min(remaining, 1.0))
            return self.arrived[message_id]
