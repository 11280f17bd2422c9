"""The fuzz target run for a bounded time by the normal test command (issue 12): libFuzzer
mutates the mail corpus and the platform payloads for FUZZ_SECONDS and must find no crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.fuzz_parsers import write_seed_corpus

pytestmark = pytest.mark.slow

FUZZ_SECONDS = 20
ROOT = Path(__file__).resolve().parents[2]


def test_the_parsers_survive_twenty_seconds_of_coverage_guided_fuzzing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_seed_corpus(corpus)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.fuzz_parsers",
            f"-max_total_time={FUZZ_SECONDS}",
            "-seed=12",  # the suite's run is repeatable; exploring goes by hand, for longer
            "-timeout=20",
            "-rss_limit_mb=3072",
            "-max_len=200000",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS * 6 + 60,
    )
    tail = run.stderr[-4000:]
    assert run.returncode == 0, f"the fuzzer found a crash:\n{tail}"
    assert "Done" in run.stderr and "runs in" in run.stderr, tail
    assert not list(tmp_path.glob("crash-*")), tail
