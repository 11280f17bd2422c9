"""Routing rules: which queue, assignee, priority and tags a ticket gets.

Pure. Rules are evaluated in order; the first that matches sets queue, assignee and
priority, and every rule that matches adds its tags (a rule's `tags` condition sees the
tags the rules before it added). Without a match the ticket stays in DEFAULT_QUEUE and
records no rule. The file format is `mailbot rules import`'s, described in the README.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mailbot.api.schemas import MAX_TAGS, NAME
from mailbot.pipeline.intent import INTENTS
from mailbot.pipeline.triage import PRIORITIES, is_yes
from mailbot.store.models import DEFAULT_QUEUE
from mailbot.text import fold

LIST_CONDITIONS = ("channel", "mailbox", "language", "intent", "words", "tags")
CONDITIONS = (*LIST_CONDITIONS, "attributes")
ACTIONS = ("queue", "assignee", "priority", "tags")
_NAME_RE = re.compile(NAME)


class RuleError(ValueError):
    """A rules file that cannot be imported: what is wrong and where."""


@dataclass(frozen=True)
class Rule:
    name: str
    # condition -> folded values; attributes: name -> folded values
    conditions: Mapping[str, tuple[str, ...]]
    attributes: Mapping[str, tuple[str, ...]]
    queue: str | None = None
    assignee: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    definition: Mapping[str, Any] = field(default_factory=dict)  # as imported


@dataclass(frozen=True)
class TicketFacts:
    """What rules look at, as the pipeline or the dry run knows it."""

    channel: str
    mailbox: str | None
    language: str
    text: str  # subject and new text
    intent: str | None
    attributes: Mapping[str, Any]
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routing:
    queue: str = DEFAULT_QUEUE
    assignee: str | None = None
    priority: str | None = None  # None: the rule left triage's priority alone
    tags: tuple[str, ...] = ()
    matched_rule: str | None = None
    reason: str = ""
    matched: tuple[str, ...] = ()  # every rule that matched, in order


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise RuleError(f"{where}: expected a non-empty list of strings")
    return tuple(v.strip() for v in value)


def parse_rule(data: Any, where: str) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"{where}: a rule is an object with name, if and then")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise RuleError(f"{where}: name must be a string of 1 to 100 characters")
    where = f"rule {name!r}"
    unknown = set(data) - {"name", "if", "then", "description"}
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
    cond = data.get("if", {})
    then = data.get("then", {})
    if not isinstance(cond, dict) or not isinstance(then, dict):
        raise RuleError(f"{where}: if and then must be objects")
    if unknown := set(cond) - set(CONDITIONS):
        raise RuleError(f"{where}: unknown conditions {sorted(unknown)} (known: {', '.join(CONDITIONS)})")
    if unknown := set(then) - set(ACTIONS):
        raise RuleError(f"{where}: unknown actions {sorted(unknown)} (known: {', '.join(ACTIONS)})")
    if not then:
        raise RuleError(f"{where}: then sets nothing")
    conditions = {
        key: tuple(fold(v) for v in _strings(cond[key], f"{where}: if.{key}"))
        for key in LIST_CONDITIONS
        if key in cond
    }
    if bad := [i for i in conditions.get("intent", ()) if i not in INTENTS]:
        raise RuleError(f"{where}: unknown intent {bad} (known: {', '.join(INTENTS)})")
    attributes_in = cond.get("attributes", {})
    if not isinstance(attributes_in, dict):
        raise RuleError(f"{where}: if.attributes must be an object")
    attributes = {
        fold(str(k)): tuple(fold(v) for v in _strings(v, f"{where}: if.attributes.{k}"))
        for k, v in attributes_in.items()
    }
    priority = then.get("priority")
    if priority is not None and priority not in PRIORITIES:
        raise RuleError(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
    for key in ("queue", "assignee"):
        value = then.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise RuleError(f"{where}: then.{key} must be a non-empty string")
    tags = _strings(then["tags"], f"{where}: then.tags") if "tags" in then else ()
    # The names the REST API accepts for a queue and a tag, so a routed ticket can be
    # PATCHed back unchanged.
    limits = [(tag, 50) for tag in tags] + ([(then["queue"].strip(), 100)] if then.get("queue") else [])
    if bad := [name for name, longest in limits if not _NAME_RE.match(name) or len(name) > longest]:
        raise RuleError(f"{where}: {bad}: a queue or tag name is letters, digits and _ . : - (tags 50 long)")
    if len(tags) > MAX_TAGS:
        raise RuleError(f"{where}: at most {MAX_TAGS} tags")
    return Rule(
        name=name.strip(),
        conditions=conditions,
        attributes=attributes,
        queue=(then.get("queue") or "").strip() or None,
        assignee=(then.get("assignee") or "").strip() or None,
        priority=priority,
        tags=tags,
        definition=data,
    )


def parse_rules(data: Any) -> list[Rule]:
    """The rules of a rules file (already JSON-decoded), checked all at once."""
    if not isinstance(data, list):
        raise RuleError("a rules file is a JSON array of rules")
    rules = [parse_rule(item, f"rule #{number}") for number, item in enumerate(data, 1)]
    names = [rule.name for rule in rules]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise RuleError(f"rule names must be unique: {duplicates}")
    return rules


@lru_cache(maxsize=4096)
def _words_re(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for a rule's words, compiled once (a rule is evaluated on every ticket)."""
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(w) for w in words)})(?!\w)")


def _has_words(folded_text: str, words: tuple[str, ...]) -> str | None:
    if not any(word in folded_text for word in words):  # a substring test is 50x cheaper
        return None
    found = _words_re(words).search(folded_text)
    return found.group() if found else None


def _attribute_matches(actual: Any, wanted: tuple[str, ...]) -> bool:
    if isinstance(actual, bool) or any(w in {"yes", "no", "true", "false"} for w in wanted):
        # vip: "yes" matches a CSV "Yes", a "true" and a JSON true alike.
        return any(is_yes(actual) == is_yes(w) for w in wanted) and actual not in (None, "")
    return actual is not None and fold(str(actual)).strip() in wanted


@dataclass(frozen=True)
class _Folded:
    """The facts folded once per ticket, not once per rule."""

    simple: Mapping[str, str]
    text: str
    attributes: Mapping[str, Any]

    @classmethod
    def of(cls, facts: TicketFacts) -> _Folded:
        simple = {
            "channel": facts.channel,
            "mailbox": facts.mailbox or "",
            "language": facts.language,
            "intent": facts.intent or "",
        }
        return cls(
            simple={key: fold(value) for key, value in simple.items()},
            text=fold(facts.text),
            attributes={fold(str(k)): v for k, v in facts.attributes.items()},
        )


def why_matches(rule: Rule, facts: TicketFacts | _Folded, tags: Sequence[str] = ()) -> str | None:
    """Why the rule matches (its conditions as met), or None when one is not met."""
    folded = facts if isinstance(facts, _Folded) else _Folded.of(facts)
    reasons: list[str] = []
    for key, actual in folded.simple.items():
        if key in rule.conditions:
            if actual not in rule.conditions[key]:
                return None
            reasons.append(f"{key}={actual}")
    if "words" in rule.conditions:
        word = _has_words(folded.text, rule.conditions["words"])
        if word is None:
            return None
        reasons.append(f"words: {word}")
    if "tags" in rule.conditions:
        have = {fold(tag) for tag in tags}
        present = [tag for tag in rule.conditions["tags"] if tag in have]
        if not present:
            return None
        reasons.append(f"tags: {present[0]}")
    for name, wanted in rule.attributes.items():
        value = folded.attributes.get(name)
        if not _attribute_matches(value, wanted):
            return None
        reasons.append(f"{name}={fold(str(value))}")
    return "; ".join(reasons) or "no conditions"


def route(rules: Sequence[Rule], facts: TicketFacts) -> Routing:
    tags = list(facts.tags)
    folded = _Folded.of(facts)
    first: Rule | None = None
    reason = ""
    matched: list[str] = []
    for rule in rules:
        why = why_matches(rule, folded, tags)
        if why is None:
            continue
        matched.append(rule.name)
        if first is None:
            first, reason = rule, why
        tags += [t for t in rule.tags if t not in tags]
    added = tuple(t for t in tags if t not in facts.tags)
    if first is None:
        return Routing(tags=added)
    return Routing(
        queue=first.queue or DEFAULT_QUEUE,
        assignee=first.assignee,
        priority=first.priority,
        tags=added,
        matched_rule=first.name,
        reason=f"{first.name}: {reason}",
        matched=tuple(matched),
    )
