"""What a running process needs, built once per process at start (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from mailbot.config import Settings, load_settings
from mailbot.redis_server import redis_url_for
from mailbot.store.db import session_factory


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    redis_url: str

    @property
    def redis(self) -> redis.Redis:
        return _redis_client(self.redis_url)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.settings.database_url)


@lru_cache(maxsize=16)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@lru_cache(maxsize=16)
def _runtime_for(settings: Settings) -> Runtime:
    return Runtime(settings=settings, redis_url=redis_url_for(settings))


def current_runtime() -> Runtime:
    """The runtime for the current environment; jobs call this in worker processes."""
    settings = load_settings()
    return _runtime_for(settings)
