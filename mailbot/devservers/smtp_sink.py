"""An in-process SMTP server that keeps what it is sent, for tests and the demo.

Built on aiosmtpd's Controller, which runs the server's event loop in its own
thread; the handler therefore hands messages to the test thread under a lock.
"""

from __future__ import annotations

import email
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailbot.devservers.dovecot import free_port
from mailbot.devservers.lifecycle import ThrowawayServer
from mailbot.devservers.tls import make_self_signed_cert


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted DATA transaction, as the sink saw it on the wire."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)
    smtputf8: bool = False  # the client asked for SMTPUTF8 (RFC 6531) in MAIL FROM


class _SinkHandler:
    """aiosmtpd handler: records the envelope or answers with a canned failure."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self._sink.refuse_recipients:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        self._sink.sessions_seen.add(id(session))
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self._sink.fail_with
        if failure is not None:
            return failure
        raw = envelope.original_content or b""
        smtputf8 = bool(envelope.smtp_utf8)
        mail = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            # RFC 6532: SMTPUTF8 mail has UTF-8 headers, which message_from_bytes would
            # leave as surrogate escapes.
            message=email.message_from_string(raw.decode("utf-8", "replace"), policy=policy.default)
            if smtputf8
            else email.message_from_bytes(raw, policy=policy.default),
            smtputf8=smtputf8,
        )
        self._sink._record(mail)
        return "250 2.0.0 OK queued"


class SmtpSink(ThrowawayServer):
    """A local SMTP server that accepts (or refuses) everything sent to it.

    ``fail_with`` may be changed while the server runs, so a test can make the
    first attempt fail and the retry succeed.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fail_with: str | None = None,
        auth_required: bool = False,
        credentials: dict[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        starttls: bool = False,
        cert_dir: Path | None = None,
        print_to: TextIO | None = None,
        smtputf8: bool = False,
    ) -> None:
        """Set up, without listening yet.

        ``credentials`` maps usernames to passwords for AUTH PLAIN/LOGIN; giving
        any makes AUTH available, ``auth_required`` additionally refuses MAIL
        before AUTH. STARTTLS is offered with ``tls_context``, or with
        ``starttls=True`` and a fresh self-signed certificate in ``cert_dir``.
        ``smtputf8`` offers SMTPUTF8 (RFC 6531), so internationalised addresses are taken.
        """
        self.host = host
        self.port = port
        self.fail_with = fail_with
        self.auth_required = auth_required
        self.credentials = dict(credentials or {})
        if auth_required and not self.credentials:
            raise ValueError("auth_required needs credentials")
        self.print_to = print_to
        self.smtputf8 = smtputf8
        self.cert_path: Path | None = None
        if tls_context is None and starttls:
            if cert_dir is None:
                raise ValueError("starttls=True needs cert_dir for the certificate")
            self.cert_path, key_path = make_self_signed_cert(cert_dir)
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(self.cert_path, key_path)
        self.tls_context = tls_context
        self._received: list[ReceivedMail] = []
        # Recipients answered with 550 at RCPT, as a real server does for unknown users.
        self.refuse_recipients: set[str] = set()
        # One entry per SMTP connection that got as far as RCPT: shows connection reuse.
        self.sessions_seen: set[int] = set()
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("already started")
        if self.port == 0:
            self.port = free_port(self.host)
        # aiosmtpd warns about AUTH without TLS on every connection; for a sink
        # on loopback that is the configuration we want, not a mistake.
        warnings.filterwarnings(
            "ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning
        )
        options: dict[str, Any] = {
            # The bot and the demo log in over plain localhost; aiosmtpd would
            # otherwise hide AUTH until STARTTLS.
            "auth_require_tls": False,
            "auth_required": self.auth_required,
            "enable_SMTPUTF8": self.smtputf8,
        }
        if self.credentials:
            options["authenticator"] = self._authenticate
        if self.tls_context is not None:
            options["tls_context"] = self.tls_context
        controller = Controller(_SinkHandler(self), hostname=self.host, port=self.port, **options)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    # -- what arrived ------------------------------------------------------

    @property
    def received(self) -> list[ReceivedMail]:
        """A snapshot; later arrivals do not change a list already returned."""
        with self._arrived:
            return list(self._received)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least *count* messages arrived; TimeoutError if not."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} message(s) within {timeout}s, got {len(self._received)}"
                    )
                self._arrived.wait(remaining)
            return list(self._received)

    def clear(self) -> None:
        with self._arrived:
            self._received.clear()

    def smtp_url(self, user: str | None = None, password: str | None = None) -> str:
        """smtp://[user:password@]host:port, the form mailbot's config takes."""
        userinfo = ""
        if user is not None:
            userinfo = quote(user, safe="")
            if password is not None:
                userinfo += ":" + quote(password, safe="")
            userinfo += "@"
        return f"smtp://{userinfo}{self.host}:{self.port}"

    # -- internals ---------------------------------------------------------

    def _record(self, mail: ReceivedMail) -> None:
        with self._arrived:
            self._received.append(mail)
            self._arrived.notify_all()
        if self.print_to is not None:
            self._print(mail)

    def _print(self, mail: ReceivedMail) -> None:
        out = self.print_to
        assert out is not None
        body = mail.message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        out.write(
            f"--- SMTP {mail.mail_from} -> {', '.join(mail.rcpt_tos)}\n"
            f"Subject: {mail.message.get('Subject', '')}\n\n{text.rstrip()}\n---\n"
        )
        out.flush()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        # aiosmtpd hands PLAIN and LOGIN credentials over as LoginPassword
        # (bytes); other mechanisms are not offered to clients we care about.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = user in self.credentials and self.credentials[user] == password
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
