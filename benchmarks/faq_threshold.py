"""How well FAQ suggestions hit, per relevance threshold, on the labelled set.

    .venv/bin/python benchmarks/faq_threshold.py

tests/faq/entries.jsonl holds seven entries per language (es, it, en, pt, fr, de) and
tests/faq/labelled.jsonl messages with the entries that answer them (none for a message
no entry answers). For each threshold it prints the precision of what would be suggested
(share of suggestions that answer the message), the recall (share of answering entries
suggested) and how many unanswerable messages got nothing, beside the baseline of the
same run: every entry with any score at all (threshold 0).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.faq import DEFAULT_MIN_SCORE  # noqa: E402
from mailbot.faq.entries import parse_faq_lines  # noqa: E402
from mailbot.faq.ranking import FaqIndex, suggest  # noqa: E402

THRESHOLDS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def load() -> tuple[dict[str, FaqIndex], list[dict]]:
    records = parse_faq_lines((ROOT / "tests/faq/entries.jsonl").read_text(encoding="utf-8"))
    by_language = defaultdict(list)
    for record in records:
        by_language[record.lang].append(record.as_text())
    indexes = {lang: FaqIndex(lang, texts) for lang, texts in by_language.items()}
    lines = (ROOT / "tests/faq/labelled.jsonl").read_text(encoding="utf-8").splitlines()
    return indexes, [json.loads(line) for line in lines if line.strip()]


def measure(
    indexes: dict[str, FaqIndex], labelled: list[dict], threshold: float
) -> tuple[float, float, float]:
    suggested = hits = relevant = silent = unanswerable = 0
    for case in labelled:
        found = [
            s.id
            for s in suggest(
                indexes[case["lang"]], case["subject"], case["text"], intent=None, min_score=threshold
            )
        ]
        wanted = set(case["relevant"])
        suggested += len(found)
        hits += len(wanted & set(found))
        relevant += len(wanted)
        if not wanted:
            unanswerable += 1
            silent += not found
    precision = hits / suggested if suggested else 1.0
    return precision, hits / relevant, silent / unanswerable


def main() -> None:
    indexes, labelled = load()
    base_precision, base_recall, base_silent = measure(indexes, labelled, 0.0)
    print(f"{len(labelled)} labelled messages, {sum(len(i.ids) for i in indexes.values())} entries")
    print(
        f"baseline (any score > 0): precision {base_precision:.2f}, recall {base_recall:.2f}, "
        f"silent on unanswerable {base_silent:.2f}"
    )
    print("threshold  precision  (x baseline)  recall  (x baseline)  silent-on-unanswerable")
    for threshold in THRESHOLDS:
        precision, recall, silent = measure(indexes, labelled, threshold)
        mark = "  <- default" if threshold == DEFAULT_MIN_SCORE else ""
        print(
            f"{threshold:9.1f}  {precision:9.2f}  {precision / base_precision:12.2f}  {recall:6.2f}"
            f"  {recall / base_recall:12.2f}  {silent:22.2f}{mark}"
        )


if __name__ == "__main__":
    main()
