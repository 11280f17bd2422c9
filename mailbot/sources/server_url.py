"""Server URLs as the command line and the panel take them:
imap[s]://USER:PASS@HOST:PORT[/FOLDER] and smtp[s]://[USER:PASS@]HOST:PORT."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

DEFAULT_PORTS = {"imap": 143, "imaps": 993, "smtp": 25, "smtps": 465}


class BadServerUrl(ValueError):
    pass


@dataclass(frozen=True)
class ServerUrl:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None
    path: str  # the IMAP folder, "" when not given

    @property
    def implicit_tls(self) -> bool:
        return self.scheme.endswith("s")


def parse_server_url(url: str, allowed: tuple[str, ...]) -> ServerUrl:
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in allowed:
        raise BadServerUrl(f"expected a URL starting with {' or '.join(s + '://' for s in allowed)}: {url!r}")
    netloc, _, path = rest.partition("/")
    # The user is often an e-mail address: the last '@' separates credentials from host.
    credentials, at, hostport = netloc.rpartition("@")
    user = password = None
    if at:
        raw_user, colon, raw_password = credentials.partition(":")
        user = unquote(raw_user)
        password = unquote(raw_password) if colon else None
    host, port = _split_host_port(hostport, scheme, url)
    return ServerUrl(scheme, host, port, user, password, unquote(path).strip("/"))


def _split_host_port(hostport: str, scheme: str, url: str) -> tuple[str, int]:
    if hostport.startswith("["):  # IPv6 literal
        host, _, after = hostport[1:].partition("]")
        port_text = after.lstrip(":")
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise BadServerUrl(f"no host in {url!r}")
    if not port_text:
        return host, DEFAULT_PORTS[scheme]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadServerUrl(f"bad port {port_text!r} in {url!r}")
    return host, int(port_text)
