"""The acknowledgement templates of every language: suggested FAQ entries with their
links, and the way to a person (reply, and the phone when one is set), in mail, chat and
public replies; the satisfaction question with one link per score."""

from __future__ import annotations

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mailbot.ack_templates import render_ack, templates_dir

LANGUAGES = ("en", "es", "it", "pt", "fr", "de")
ENTRY = {
    "question": "Q-text?",
    "answer": "A-text.",
    "url": "https://help.test/q",
    "yes_url": "https://s.test/feedback/faq/MB-7K3Q9P/q/yes/sig",
    "no_url": "https://s.test/feedback/faq/MB-7K3Q9P/q/no/sig",
}
BASE = {"ref": "MB-7K3Q9P", "name": "Ana", "subject": "x", "response_hours": 24, "existing": False}


def _block(language: str, block: str, context: dict) -> str:
    env = Environment(loader=FileSystemLoader(str(templates_dir())), undefined=StrictUndefined)
    template = env.get_template(f"ack/{language}.txt")
    return "".join(template.blocks[block](template.new_context(context)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_mail_lists_entries_with_both_links_and_the_phone(language: str) -> None:
    _, body = render_ack(
        language, {**BASE, "faq": [ENTRY, {**ENTRY, "url": "", "question": "Q2?"}], "phone": "+1 555"}
    )
    for part in (
        "Q-text?",
        "A-text.",
        "https://help.test/q",
        ENTRY["yes_url"],
        ENTRY["no_url"],
        "Q2?",
        "+1 555",
    ):
        assert part in body
    assert body.index("Q-text?") < body.index("Q2?")  # in the order they ranked
    assert "\n\n\n" not in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_without_entries_or_phone_nothing_of_them_shows(language: str) -> None:
    _, plain = render_ack(language, {**BASE, "faq": [], "phone": ""})
    _, older = render_ack(language, BASE)  # a caller that passes neither (tests, old overrides)
    assert plain == older
    assert "feedback" not in plain and "\n\n\n" not in plain


PERSON = {
    "en": "reach a person",
    "es": "hablar con una persona",
    "it": "parlare con una persona",
    "pt": "falar com uma pessoa",
    "fr": "parler à une personne",
    "de": "mit einem Menschen zu sprechen",
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("existing", [False, True])
def test_every_answer_says_how_to_reach_a_person(language: str, existing: bool) -> None:
    context = {**BASE, "existing": existing, "phone": "+1 555", "faq": []}
    _, body = render_ack(language, context)
    assert PERSON[language] in body and "+1 555" in body
    chat = _block(language, "chat", context)
    assert "+1 555" in chat
    public = _block(language, "public", context)
    assert "+1 555" in public and "DM" not in public
    if not existing:
        assert PERSON[language] in chat


@pytest.mark.parametrize("language", LANGUAGES)
def test_chat_names_entries_briefly(language: str) -> None:
    chat = _block(language, "chat", {**BASE, "faq": [ENTRY], "phone": ""})
    assert "Q-text? https://help.test/q" in chat
    assert "A-text." not in chat and "feedback" not in chat


@pytest.mark.parametrize("language", LANGUAGES)
def test_satisfaction_has_one_link_per_score(language: str) -> None:
    choices = [
        {"score": s, "url": f"https://s.test/feedback/satisfaction/MB-7K3Q9P/{s}/sig"}
        for s in (5, 4, 3, 2, 1)
    ]
    text = _block(language, "satisfaction", {**BASE, "choices": choices})
    assert "MB-7K3Q9P" in text and "Ana" in text
    for choice in choices:
        assert f"{choice['score']} - " in text and choice["url"] in text
