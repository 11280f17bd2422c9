"""Which policy a ticket falls under, and the moments that follow from it: the first
response due time every ticket carries, and when each escalation step is due. Pure.

The first policy whose channels and priorities match applies. A configuration none of
whose policies matches a ticket leaves it the built-in targets (config.DEFAULT_DOCUMENT),
so every ticket has a due time.
"""

from __future__ import annotations

import math
from datetime import datetime

from mailbot.sla.clock import add_working_minutes
from mailbot.sla.config import EscalationStep, Policy, SlaConfig, default_config
from mailbot.timeutil import as_utc


def policy_for(config: SlaConfig, channel: str, priority: str) -> tuple[Policy, SlaConfig]:
    """The policy that applies, and the configuration whose calendar its clock runs on."""
    for policy in config.policies:
        if policy.applies_to(channel, priority):
            return policy, config
    fallback = default_config()
    return next(p for p in fallback.policies if p.applies_to(channel, priority)), fallback


def due_at(config: SlaConfig, channel: str, priority: str, created_at: datetime) -> datetime:
    policy, source = policy_for(config, channel, priority)
    return _after(source, policy, created_at, policy.first_response_minutes)


def step_due_at(config: SlaConfig, policy: Policy, step: EscalationStep, created_at: datetime) -> datetime:
    return _after(config, policy, created_at, step.after_minutes)


def _after(config: SlaConfig, policy: Policy, created_at: datetime, minutes: int) -> datetime:
    calendar = None if policy.around_the_clock else config.calendar
    return add_working_minutes(calendar, created_at, minutes)


def hours_until(due: datetime | None, now: datetime) -> int:
    """Whole hours, rounded up, the acknowledgement promises (at least 1; 0: no due time)."""
    if due is None:
        return 0
    return max(math.ceil((as_utc(due) - as_utc(now)).total_seconds() / 3600), 1)
