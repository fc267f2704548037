"""Auto-classification: the first of the tenant's rules (in position order) that a new ticket matches
sets its type and priority; none matching gives `inquiry`, NORMAL.

A rule's conditions must all hold; those it leaves out hold always:
- keywords: any one occurs in the subject or body, ignoring case (`casefold`, so Chinese,
  which has no case, matches as written, and `ß`/`SS` match);
- pattern: a regular expression found in the subject or body, ignoring case. Patterns are
  compiled with RE2 (`google-re2`), whose matching time is linear in the text, so no pattern
  (`(a+)+$` included) can hang a worker; RE2 refuses what it cannot do in linear time
  (back-references, look-around), and `check_pattern` reports that when the rule is saved;
- customer tier and channel: equal, ignoring case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import re2

from saas.tickets.models import ClassificationRule, TicketPriority
from saas.tickets.rules import DEFAULT_PRIORITY, DEFAULT_TYPE

MAX_PATTERN_LENGTH = 500
# RE2's program size limit: bounds the memory a compiled pattern may take (`a{1000}{1000}`).
MAX_PROGRAM_MEMORY = 1 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = MAX_PROGRAM_MEMORY
    return options


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> re2._Regexp:
    """The pattern compiled once per process (the rules of every tenant share the cache)."""
    return re2.compile(pattern, _options())


def check_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be a rule's pattern, or None when it can."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"at most {MAX_PATTERN_LENGTH} characters"
    try:
        compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return f"not a supported regular expression ({reason})"
    return None


@dataclass(frozen=True)
class Incoming:
    """What classification looks at in a new ticket."""

    subject: str
    body: str
    customer_tier: str | None
    channel: str | None

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


@dataclass(frozen=True)
class Classification:
    type: str
    priority: TicketPriority
    rule: ClassificationRule | None


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual is not None and wanted.casefold() == actual.strip().casefold())


def matches(rule: ClassificationRule, ticket: Incoming) -> bool:
    if not _same(rule.customer_tier, ticket.customer_tier) or not _same(rule.channel, ticket.channel):
        return False
    text = ticket.text.casefold()
    if rule.keywords and not any(keyword.casefold() in text for keyword in rule.keywords):
        return False
    return not (rule.pattern and compiled(rule.pattern).search(ticket.text) is None)


def classify(rules: Sequence[ClassificationRule], ticket: Incoming) -> Classification:
    """The first rule of `rules` (already in position order) that the ticket matches decides."""
    for rule in rules:
        if matches(rule, ticket):
            return Classification(rule.set_type, TicketPriority(rule.set_priority), rule)
    return Classification(DEFAULT_TYPE, DEFAULT_PRIORITY, None)
