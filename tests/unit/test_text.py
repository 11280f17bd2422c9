from __future__ import annotations

import pytest

from mailbot.pipeline import classify, urgency
from mailbot.text import fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RÉPONSE automatique", "reponse automatique"),
        ("Außer Haus", "ausser haus"),
        ("Message d’absence", "message d'absence"),
        ("Não é possível", "nao e possivel"),
        ("ＡＢＣ", "abc"),  # full-width letters (NFKD)
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_one_fold_for_classify_and_urgency() -> None:
    assert classify.fold is fold and urgency.fold is fold
    assert not hasattr(urgency, "_fold")
