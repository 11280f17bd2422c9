"""The README's first command runs `mailbot demo`: it must come up on embedded defaults
(SQLite, a private redis-server it starts itself), file the seeded mail and answer it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mailbot.devservers.dovecot import free_port

pytestmark = pytest.mark.slow


def test_demo_files_dedupes_and_acknowledges_the_seeded_mail() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="mailbot-demo-test-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOT_")}
    env["MAILBOT_DATA_DIR"] = str(data_dir)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "demo", "--once", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        out = result.stdout
        assert "5 tickets:" in out
        assert out.count("not acknowledged (history)") == 2
        assert out.count(" acknowledged\n") == 3
        # Acknowledgements went out in the customers' languages.
        assert "Referencia del ticket:" in out and "Riferimento del ticket:" in out
        assert "Ticket reference:" in out
        assert "log in as admin@acme.test / " in out
        assert "tickets at http://127.0.0.1:" in out  # printed once the panel answered
        # Everything it started was stopped: the private Redis socket no longer answers.
        assert not (data_dir / "demo" / "redis" / "redis.pid").exists() or _redis_gone(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _redis_gone(data_dir: Path) -> bool:
    import redis

    try:
        redis.Redis(unix_socket_path=str(data_dir / "demo" / "redis" / "redis.sock")).ping()
    except (redis.ConnectionError, OSError):
        return True
    return False
