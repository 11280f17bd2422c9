"""What the chaos and multi-host tests share: mailboxes on the test's Dovecot, the web
process as the Procfile runs it, and a "host": a poller, a worker and a web process in
their own UTS, PID and mount namespaces (their own host name, process ids counted from 1,
their own /proc) with their own data directory, sharing only PostgreSQL and Redis with
the other hosts, as machines behind one load balancer would.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from mailbot.devservers.dovecot import DovecotServer
from mailbot.devservers.smtp_sink import SmtpSink
from mailbot.mailboxes import MailboxSpec, add_mailbox
from mailbot.runtime import Runtime

GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "2", "--no-control-socket", "mailbot.web.wsgi:app"]
MAILBOT = [sys.executable, "-m", "mailbot.cli"]


def web_process(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """The Procfile's web process (gunicorn, two workers) on a private port."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )


def wait_for_web(base_url: str, timeout: float = 120) -> None:
    # Generous: on a loaded machine gunicorn takes many seconds to import the app.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(base_url + "/login", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"the web process at {base_url} did not answer within {timeout}s")


def add_mailboxes(
    runtime: Runtime, dovecot: DovecotServer, sink: SmtpSink, count: int
) -> list[tuple[str, str, str]]:
    """`count` mailboxes deskN@acme.test, each a fresh Dovecot user; (user, password, address)."""
    mailboxes = []
    for n in range(count):
        user, password, address = f"desk{n}{uuid.uuid4().hex[:6]}", uuid.uuid4().hex, f"desk{n}@acme.test"
        dovecot.add_user(user, password)
        spec = MailboxSpec(
            name=f"desk{n}",
            imap_url=dovecot.imap_url(user, password),
            smtp_url=sink.smtp_url(),
            address=address,
        )
        with runtime.sessions.begin() as session:
            add_mailbox(session, spec, runtime.settings.secret_key)
        mailboxes.append((user, password, address))
    return mailboxes


class Host:
    """One machine's worth of mailbot: `mailbot poll`, `mailbot worker` and the web process."""

    def __init__(self, name: str, env: dict[str, str], work: Path, web_port: int) -> None:
        self.name = name
        self.data_dir = work / name / "data"
        self.log_dir = work / name / "logs"
        self.env = {**env, "MAILBOT_DATA_DIR": str(self.data_dir)}
        self.web_url = f"http://127.0.0.1:{web_port}"
        self.web_port = web_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Host:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        logs = {part: shlex.quote(str(self.log_dir / f"{part}.log")) for part in ("poll", "worker", "web")}
        mailbot = " ".join(map(shlex.quote, MAILBOT))
        gunicorn = " ".join(map(shlex.quote, GUNICORN))
        script = (
            f"hostname {shlex.quote(self.name)}\n"
            f"{mailbot} poll 2>>{logs['poll']} &\n"
            f"{mailbot} worker 2>>{logs['worker']} &\n"
            f"{gunicorn} --bind 127.0.0.1:{self.web_port} 2>>{logs['web']} &\n"
            "wait\n"
        )
        with (self.log_dir / "host.log").open("ab") as output:
            self.process = subprocess.Popen(
                ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=output,
                # One process group for the whole host: killing it is the machine going down.
                start_new_session=True,
            )
        return self

    def log(self, part: str) -> str:
        path = self.log_dir / f"{part}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """The machine dies: kill -9 of everything on it, at once."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
