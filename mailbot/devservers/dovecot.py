"""A private, throwaway Dovecot IMAP server for end-to-end tests and the demo.

Everything (config, sockets, state, log, mail, users) lives under one base
directory, so several instances can run side by side without touching the
system Dovecot in /etc/dovecot.
"""

from __future__ import annotations

import datetime
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import imapclient

from mailbot.devservers.lifecycle import ThrowawayServer
from mailbot.devservers.tls import make_self_signed_cert

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0

# Dovecot refuses to run mail processes as root no matter what first_valid_uid
# says ("Mail access not allowed for root"), so when we are root the mailboxes
# belong to this unprivileged account instead.
ROOT_MAIL_USER = "nobody"
# Dovecot's auth process reads the passwd files as default_internal_user, not
# as root; this is the account the Debian and Fedora packages create for it.
ROOT_INTERNAL_USER = "dovecot"

# Usernames become file names (one passwd file per user, see add_user) and part
# of IMAP URLs; keeping them to this alphabet avoids escaping bugs in both.
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")

APPENDUID_RE = re.compile(rb"\[APPENDUID \d+ (\d+)\]")


class DovecotError(RuntimeError):
    """Dovecot could not be started or did not behave as configured."""


def find_dovecot() -> str:
    """Path of the dovecot binary; /usr/sbin is often not on a user's PATH."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise DovecotError("dovecot binary not found (install dovecot-imapd)")
    return found


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """*count* distinct ports that were free a moment ago.

    All probe sockets stay open until every port is chosen, otherwise the
    kernel may hand out the same ephemeral port twice. Someone else can still
    grab one before our server binds it; start() retries in that case.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


class DovecotServer(ThrowawayServer):
    """One Dovecot master process in the foreground, owned by this object."""

    def __init__(self, base_dir: Path, host: str = "127.0.0.1", extra_config: str = "") -> None:
        """Prepare an instance under *base_dir*; nothing runs until start().

        *extra_config* is appended to the generated dovecot.conf, for a test
        that needs one setting changed (later settings win in Dovecot).
        """
        self.extra_config = extra_config
        self.base_dir = Path(base_dir).resolve()
        self.host = host
        self.imap_port = 0
        self.imaps_port = 0
        self.config_path = self.base_dir / "dovecot.conf"
        self.log_path = self.base_dir / "dovecot.log"
        self.users_dir = self.base_dir / "users"
        self.mail_dir = self.base_dir / "mail"
        self.home_dir = self.base_dir / "home"
        self.cert_path, self.key_path = self.base_dir / "tls" / "cert.pem", self.base_dir / "tls" / "key.pem"
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start Dovecot and return once the IMAP greeting arrives."""
        if self._process is not None:
            raise DovecotError("already started")
        self._prepare_directories()
        self.cert_path, self.key_path = make_self_signed_cert(self.base_dir / "tls")
        # Another process may take a probed port before Dovecot binds it
        # (master then exits with "Address already in use"); a fresh pair
        # almost always succeeds.
        for attempt in range(3):
            self.imap_port, self.imaps_port = free_ports(2, self.host)
            self.config_path.write_text(self._render_config())
            try:
                self._launch_and_wait()
                return
            except DovecotError:
                if attempt < 2 and "Address already in use" in self._log_tail():
                    continue
                raise

    def stop(self) -> None:
        """Stop Dovecot; the master takes its imap and login children with it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again on the same ports with the same mail, as a server restart
        looks to clients: every connection drops, then the same address answers again."""
        self.stop()
        for attempt in range(40):
            try:
                self._launch_and_wait()
                return
            except DovecotError:
                # The old master's sockets may linger a moment after it exits.
                if attempt < 39 and "Address already in use" in self._log_tail():
                    time.sleep(0.25)
                    continue
                raise

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- users and mail ----------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Create *name* or change its password; effective for the next login.

        Each user has its own passwd file (the passdb path contains %u). Dovecot
        stats a passwd file at most once per second and reloads it only if its
        mtime or size changed, so a single shared file edited twice within a
        second can keep serving a stale copy. A new user's file has never been
        read, so it is picked up at once; a password change bumps the mtime and
        waits out the current second.
        """
        if not USERNAME_RE.match(name):
            raise ValueError(f"unsupported IMAP username: {name!r}")
        if any(c in password for c in ":\r\n"):
            # ':' separates passwd-file fields and there is no escaping.
            raise ValueError("password must not contain ':' or line breaks")
        self.users_dir.mkdir(parents=True, exist_ok=True)
        path = self.users_dir / name
        previous_mtime = path.stat().st_mtime if path.exists() else None
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        tmp.chmod(0o600)
        if os.geteuid() == 0:
            internal = pwd.getpwnam(ROOT_INTERNAL_USER)
            os.chown(tmp, internal.pw_uid, internal.pw_gid)
        os.replace(tmp, path)
        if previous_mtime is not None:
            mtime = max(time.time(), int(previous_mtime) + 1)
            os.utime(path, (mtime, mtime))
            time.sleep(1.0 - time.time() % 1.0 + 0.05)

    def imap_url(self, user: str, password: str, folder: str = "INBOX", tls: bool = False) -> str:
        """A URL such as imap://support:secret@127.0.0.1:14143/INBOX."""
        scheme, port = ("imaps", self.imaps_port) if tls else ("imap", self.imap_port)
        return (
            f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{self.host}:{port}/{quote(folder, safe='/')}"
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this server's certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def connect(self, user: str, password: str, tls: bool = False) -> imapclient.IMAPClient:
        """A logged-in IMAPClient; IMAPS if *tls*, else plain (local only)."""
        client = imapclient.IMAPClient(
            self.host,
            port=self.imaps_port if tls else self.imap_port,
            ssl=tls,
            ssl_context=self.ssl_context() if tls else None,
            timeout=10,
        )
        client.login(user, password)
        return client

    def append(
        self,
        user: str,
        password: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Sequence[str | bytes] = (),
        msg_time: datetime.datetime | None = None,
    ) -> int:
        """APPEND *raw* to *folder* of *user* and return the new message's UID."""
        client = self.connect(user, password)
        try:
            response = client.append(folder, raw, flags=flags, msg_time=msg_time)
            found = APPENDUID_RE.search(response if isinstance(response, bytes) else b"")
            if found:
                return int(found.group(1))
            # Without UIDPLUS (RFC 4315) the newest message is the one we added,
            # barring a concurrent APPEND that tests do not do.
            client.select_folder(folder, readonly=True)
            return int(max(client.search(["ALL"])))
        finally:
            client.logout()

    # -- internals ---------------------------------------------------------

    def _mail_owner(self) -> tuple[int, int] | None:
        """(uid, gid) the mail processes run as, or None for "whoever we are"."""
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(ROOT_MAIL_USER)
        return entry.pw_uid, entry.pw_gid

    def _prepare_directories(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.users_dir, self.base_dir / "run", self.base_dir / "state"):
            directory.mkdir(exist_ok=True)
        owner = self._mail_owner()
        if owner is None:
            self.mail_dir.mkdir(exist_ok=True)
            self.home_dir.mkdir(exist_ok=True)
            return
        # The imap processes run as ROOT_MAIL_USER and must walk from / down to
        # their maildir; pytest's own tmp tree (/tmp/pytest-of-root, 0700) would
        # stop them, hence the explicit check with a helpful message.
        self.base_dir.chmod(0o755)
        for parent in self.base_dir.parents:
            if not parent.stat().st_mode & 0o001:
                raise DovecotError(
                    f"{parent} is not searchable by {ROOT_MAIL_USER!r}; put the Dovecot base "
                    "directory somewhere world-traversable such as tempfile.mkdtemp()'s parent"
                )
        for directory in (self.mail_dir, self.home_dir):
            directory.mkdir(exist_ok=True)
            os.chown(directory, *owner)

    def _render_config(self) -> str:
        base = self.base_dir
        owner = self._mail_owner()
        if owner is None:
            # Unprivileged run: every service has to run as ourselves, and
            # chrooting is impossible without root.
            me = pwd.getpwuid(os.geteuid()).pw_name
            identity = (
                f"default_internal_user = {me}\n"
                f"default_login_user = {me}\n"
                "first_valid_uid = 1\n"
                "service imap-login {\n  chroot =\n}\n"
            )
            anvil_chroot = "  chroot =\n"
        else:
            # Login processes keep the distribution's unprivileged dovenull
            # user; only the mail processes need an owner of our choosing.
            identity = (
                f"default_internal_user = {ROOT_INTERNAL_USER}\n"
                f"mail_uid = {owner[0]}\n"
                f"mail_gid = {owner[1]}\n"
                f"first_valid_uid = {owner[0]}\n"
                f"first_valid_gid = {owner[1]}\n"
            )
            anvil_chroot = ""
        return f"""\
# Generated by mailbot.devservers.dovecot; rewritten on every start.
protocols = imap
listen = {self.host}
base_dir = {base}/run
state_dir = {base}/state
instance_name = mailbot-{self.imap_port}
log_path = {self.log_path}
auth_verbose = yes
{identity}
ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{self.key_path}
# Tests and the demo log in with LOGIN on the plain port too.
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests open many parallel sessions (IDLE plus a writer) for the same user.
mail_max_userip_connections = 100
# Tests log in with wrong passwords on purpose. After a failure Dovecot's auth
# penalty delays the next login from the same IP by 2-15 s, which would slow
# down whatever test runs next; login_trusted_networks no longer exempts anyone
# in 2.3. Without its anvil socket the auth process runs with penalties off.
auth_failure_delay = 0
service anvil {{
{anvil_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_fsync = never

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = home={self.home_dir}/%u
}}

mail_location = maildir:{self.mail_dir}/%u
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Archive {{
    auto = subscribe
  }}
  mailbox Processed {{
    auto = subscribe
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
{self.extra_config}"""

    def _launch_and_wait(self) -> None:
        self.log_path.write_bytes(b"")
        stdio = (self.base_dir / "dovecot.stdout").open("wb")
        try:
            self._process = subprocess.Popen(
                [find_dovecot(), "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stdio,
                stderr=subprocess.STDOUT,
            )
        finally:
            stdio.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise DovecotError(f"dovecot exited during startup:\n{self._log_tail()}")
            if self._greeting_arrives():
                return
            time.sleep(0.05)
        self.stop()
        raise DovecotError(f"dovecot did not greet within {START_TIMEOUT}s:\n{self._log_tail()}")

    def _greeting_arrives(self) -> bool:
        try:
            with socket.create_connection((self.host, self.imap_port), timeout=1.0) as sock:
                return sock.recv(256).startswith(b"* OK")
        except OSError:
            return False

    def _log_tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.base_dir / "dovecot.stdout", self.log_path):
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])
