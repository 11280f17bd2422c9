"""The email policy mailbot reads mail with: policy.default, each header value parsed once.

policy.default parses a header's structure (Content-Type's parameters, an address list)
not when the message is parsed but every time the header is read, and the stdlib reads
Content-Type many times per part: the parser itself to find boundaries, then
get_content_type, get_content_maintype, get_content_charset, get_filename, get_payload.
Profiled on realistic mail that was 23 structured parses per message and a third of
parsing's time (issue 11). A parse depends on nothing but the header's name and value,
and the header objects it returns are immutable (str subclasses with tuple and read-only
mapping attributes), so one parse per distinct (name, value) serves every reader: the
parser, parse.py, addresses.py and classify.py all see exactly what policy.default gives.
"""

from __future__ import annotations

import functools
from email import policy
from email.headerregistry import HeaderRegistry
from typing import Any

# Values this long are parsed every time rather than kept: a cache entry holds the parse
# tree too, about 500 bytes per character of an address list (a 2,000-character To kept
# 1.1 MB), and a sender chooses these values. 300 characters keep Content-Type, From and a
# short To; the cache stays under about 20 MB whatever arrives.
_MAX_KEPT_CHARS = 300
# Per message a few values are new (its boundary, its From); the rest ("text/plain;
# charset=utf-8", "7bit", our own address) recur from mail to mail.
_KEPT_HEADERS = 128


class ParsedOnceRegistry:
    """policy.default's header factory, remembering its last parses (thread-safe: lru_cache)."""

    def __init__(self, maxsize: int = _KEPT_HEADERS) -> None:
        self._registry = HeaderRegistry()
        self._parse = functools.lru_cache(maxsize=maxsize)(self._registry.__call__)

    # Any, as typeshed types EmailPolicy.header_factory: the class depends on the name
    # (an AddressHeader for To, a ContentTypeHeader for Content-Type).
    def __call__(self, name: str, value: str) -> Any:
        if len(value) > _MAX_KEPT_CHARS:
            return self._registry(name, value)
        return self._parse(name, value)

    def cache_info(self) -> functools._CacheInfo:
        """misses = parses done; tests count them."""
        return self._parse.cache_info()


HEADER_FACTORY = ParsedOnceRegistry()
MAIL_POLICY = policy.default.clone(header_factory=HEADER_FACTORY)
