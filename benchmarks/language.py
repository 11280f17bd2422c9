"""Language detection: accuracy per language, short and long, and time per call.

    .venv/bin/python benchmarks/language.py [--rounds 5] [--misses]

In one run, on tests/language/labelled.jsonl (invented chat lines of 1 to 8 words and
mail paragraphs in es, it, en, pt, fr, de), it measures:

1. plain langdetect (55 profiles, seeded): the library alone, as a floor;
2. the blend mailbot used before (langdetect + function words, benchmarks/language_before.py);
3. lingua alone: mailbot's lingua detectors without the function-word vote;
4. mailbot.language.detect_language, as the pipeline calls it.

Every detector is asked with a default outside the six (`und`), so an undecided answer
counts as a miss rather than as a lucky "en". Prints accuracy per language and kind, then
the first call (models loading, once per process) and ms per call, short and long, with
the memory the first call added. Needs langdetect for 1 and 2: `pip install -e ".[bench]"`.
Not a test: run by hand.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import language_before
from langdetect import DetectorFactory, LangDetectException
from langdetect import detect as langdetect_detect

from mailbot import language

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "language" / "labelled.jsonl"
KINDS = ("short", "long")
UNDECIDED = "und"

Detect = Callable[[str], str]


def load_labelled() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def plain_langdetect(text: str) -> str:
    try:
        return str(langdetect_detect(text)).split("-")[0]
    except LangDetectException:
        return UNDECIDED


def lingua_alone(text: str) -> str:
    main = language._main_text(text)
    letters = sum(len(token) for token in language._tokens(main))
    return language._decide(language._lingua_scores(main, letters), None, UNDECIDED)


def mailbot_now(text: str) -> str:
    return language.detect_language(text, default=UNDECIDED)


def mailbot_before(text: str) -> str:
    return language_before.detect_language(text, default=UNDECIDED)


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * 4096 / 2**20


def first_call(detect: Detect) -> tuple[float, float]:
    """Seconds and MB the first call costs: the models load then, once per process."""
    before = rss_mb()
    started = time.perf_counter()
    detect("Hola, mi pedido no ha llegado")
    detect(
        "Guten Tag, ich habe letzte Woche eine Bestellung aufgegeben, aber bis heute ist "
        "nichts angekommen. Können Sie bitte nachsehen, wo mein Paket bleibt? Danke."
    )
    return time.perf_counter() - started, rss_mb() - before


def accuracy(detect: Detect, rows: list[dict[str, str]]) -> dict[tuple[str, str], float]:
    hits: dict[tuple[str, str], list[bool]] = {}
    for row in rows:
        hits.setdefault((row["lang"], row["kind"]), []).append(detect(row["text"]) == row["lang"])
    return {key: 100 * sum(found) / len(found) for key, found in hits.items()}


def ms_per_call(detect: Detect, texts: list[str], rounds: int) -> float:
    """Median over rounds of the mean time per call, models already loaded."""
    means = []
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            detect(text)
        means.append((time.perf_counter() - started) * 1000 / len(texts))
    return statistics.median(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="list what mailbot's detector got wrong")
    args = parser.parse_args()
    DetectorFactory.seed = 0  # langdetect samples at random: the same answer every run
    rows = load_labelled()
    detectors: dict[str, Detect] = {
        "plain langdetect": plain_langdetect,
        "before (langdetect blend)": mailbot_before,
        "lingua alone": lingua_alone,
        "now (lingua blend)": mailbot_now,
    }
    # Cold cost first, before anything else loads the same models; lingua alone uses the
    # models mailbot_now has loaded by then.
    cold = {name: first_call(detectors[name]) for name in detectors if name != "lingua alone"}
    counts = {kind: sum(row["kind"] == kind for row in rows) for kind in KINDS}
    print(
        f"{len(rows)} labelled texts: {counts['short']} short, {counts['long']} long; accuracy short / long\n"
    )
    found = {name: accuracy(detect, rows) for name, detect in detectors.items()}
    print("| language | " + " | ".join(detectors) + " |")
    print("| --- |" + " ---: |" * len(detectors))
    for lang in language.SUPPORTED:
        cells = " | ".join(
            f"{found[name][(lang, 'short')]:.0f} / {found[name][(lang, 'long')]:.0f} %" for name in detectors
        )
        print(f"| {lang} | {cells} |")
    if args.misses:
        print("\nmissed by mailbot now:")
        for row in rows:
            got = mailbot_now(row["text"])
            if got != row["lang"]:
                print(f"  {row['lang']} -> {got}: {row['text'][:70]!r}")
    print("\n| detector | first call | memory it added | ms per call, short | ms per call, long |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, detect in detectors.items():
        seconds, megabytes = cold.get(name, (0.0, 0.0))
        short = ms_per_call(detect, [row["text"] for row in rows if row["kind"] == "short"], args.rounds)
        long = ms_per_call(detect, [row["text"] for row in rows if row["kind"] == "long"], args.rounds)
        loading = f"{seconds:.2f} s | {megabytes:.0f} MB" if name in cold else "(the same models) | "
        print(f"| {name} | {loading} | {short:.2f} | {long:.2f} |")


if __name__ == "__main__":
    main()
