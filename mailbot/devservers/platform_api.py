"""A local HTTP server that speaks the chat platforms' send APIs, for tests and the demo.

The platforms themselves are the outside world we cannot reach, so this stands in for
them on loopback: each platform's module (mailbot/devservers/fake_<platform>.py)
registers a handler that checks the auth and payload shape we send exactly as the
platform documents, records the call, and answers as the platform would. A channel is
pointed here with `--api-base http://127.0.0.1:<port>/<platform>`.

Faults are scripted per platform: `fail(platform, status, times, retry_after=...)`
answers the next calls with that status (429 with Retry-After, a 4xx that never
succeeds, a 5xx), and `down(platform)` refuses the platform's calls with 503 until `up()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mailbot.devservers.lifecycle import ThrowawayServer


@dataclass(frozen=True)
class ApiCall:
    platform: str
    method: str
    path: str  # after the /<platform> prefix, without the query
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any = None  # the decoded body when it is JSON
    form: dict[str, str] = field(default_factory=dict)  # when it is form-encoded
    status: int = 0  # what the fake answered
    at: float = field(default_factory=time.monotonic)  # when it arrived, for benchmarks' latencies


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any  # JSON-serialisable
    headers: dict[str, str] = field(default_factory=dict)


class ApiRefusal(Exception):
    """A handler's way to answer a malformed or unauthorised call as the platform would."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.answer = ApiAnswer(status, body)


# A handler checks a call and answers it; `state` is the server, for ids and config.
Handler = Callable[["PlatformApi", ApiCall], ApiAnswer]
HANDLERS: dict[str, Handler] = {}


def platform_handler(platform: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[platform] = handler
        return handler

    return register


def load_fake_platforms() -> None:
    import importlib

    for name in FAKE_MODULES:
        try:
            importlib.import_module(f"mailbot.devservers.fake_{name}")
        except ModuleNotFoundError as error:
            if error.name != f"mailbot.devservers.fake_{name}":
                raise


FAKE_MODULES = ("slack", "telegram", "meta", "twilio", "x", "generic")


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: int | None = None
    body: Any = None  # the platform's own refusal JSON, when a test needs its shape
    headers: dict[str, str] = field(default_factory=dict)  # e.g. X's x-rate-limit-reset


class PlatformApi(ThrowawayServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        # What each platform accepts as credentials: platform -> the token (or
        # "SID:TOKEN" for Twilio) the channel under test was configured with.
        self.credentials: dict[str, str] = {}
        self.calls: list[ApiCall] = []
        self.faults: dict[str, _Fault] = {}
        self.down_platforms: set[str] = set()
        self._lock = threading.Lock()
        self._next_id = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what tests read and script ------------------------------------------------

    def base(self, platform: str) -> str:
        return f"http://{self.host}:{self.port}/{platform}"

    def calls_to(self, platform: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.platform == platform]

    def wait_for_calls(self, platform: str, count: int, timeout: float = 10.0) -> list[ApiCall]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(platform)
            if len(calls) >= count:
                return calls
            time.sleep(0.05)
        return self.calls_to(platform)

    def fail(
        self,
        platform: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self.faults[platform] = _Fault(status, times, retry_after, body, dict(headers or {}))

    def down(self, platform: str) -> None:
        with self._lock:
            self.down_platforms.add(platform)

    def up(self, platform: str) -> None:
        with self._lock:
            self.down_platforms.discard(platform)

    def new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> PlatformApi:
        load_fake_platforms()
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
                api._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                api._handle(self)

            def do_DELETE(self) -> None:  # noqa: N802
                api._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), RequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="platform-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- one request -------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        platform, _, rest = parts.path.lstrip("/").partition("/")
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = ApiCall(
            platform=platform,
            method=request.command,
            path="/" + rest,
            query=dict(parse_qsl(parts.query)),
            headers=headers,
            body=body,
            json=_json_or_none(body, headers),
            form=dict(parse_qsl(body.decode("utf-8", "replace")))
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
            else {},
        )
        answer = self._answer(call)
        payload = json.dumps(answer.body).encode()
        request.send_response(answer.status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    def _answer(self, call: ApiCall) -> ApiAnswer:
        handler = HANDLERS.get(call.platform)
        if handler is None:
            return ApiAnswer(404, {"error": f"no fake platform {call.platform!r}"})
        with self._lock:
            if call.platform in self.down_platforms:
                return ApiAnswer(503, {"error": "service unavailable"})
            fault = self.faults.get(call.platform)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[call.platform]
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                headers.update(fault.headers)
                # Faulted calls are recorded too: a test can count the attempts.
                self.calls.append(replace(call, status=fault.status))
                body = fault.body if fault.body is not None else {"error": f"scripted {fault.status}"}
                return ApiAnswer(fault.status, body, headers)
        try:
            answer = handler(self, call)
        except ApiRefusal as refusal:
            answer = refusal.answer
        with self._lock:
            self.calls.append(replace(call, status=answer.status))
        return answer


def _json_or_none(body: bytes, headers: dict[str, str]) -> Any:
    if not headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
