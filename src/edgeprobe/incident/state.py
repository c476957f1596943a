"""The incident state file (``--state FILE``): its shape, its schema, and its I/O.

The state is JSON that a person may open and a run must never lose: loaded against
``STATE_SCHEMA_JSON`` (a bad file is kept aside and a fresh state started, with a warning),
saved atomically and last. Its shapes are TypedDicts (``State``, ``Tracked``, ``Incident``,
``Message``), so the state machine (incident/machine.py) and notify/ read typed values.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from edgeprobe.fileio import atomic_write
from edgeprobe.result.validation import parse_time, violation
from edgeprobe.vocabulary import BLAMING

STATE_SCHEMA = "edgeprobe/state@1"


class Tracked(TypedDict):
    """One warning/critical finding across runs (kind + target)."""

    kind: str
    target: str
    severity: str
    summary: str
    first_seen: str
    last_seen: str
    runs: int  # consecutive runs it was seen in
    confirmed: bool


class Message(TypedDict):
    """A chat message waiting in the outbox."""

    id: str
    channel: str
    change: str
    text: str
    attempts: int
    not_before: str | None


class Incident(TypedDict):
    open: bool
    since: str | None
    opened_at: str | None
    confirmed: list[str]
    issue: object  # the GitHub issue's number, checked where used (issue_number)
    github_done: NotRequired[str]
    outbox: NotRequired[list[Message]]
    sent: NotRequired[dict[str, list[str]]]
    flapping: NotRequired[bool]
    healthy_runs: NotRequired[int]  # healthy runs in a row while open
    last_message_at: NotRequired[str | None]  # the last change anyone was told of
    messages: NotRequired[list[str]]  # when changes were told, this last hour


class State(TypedDict):
    schema: str
    site: str
    findings: dict[str, Tracked]
    incident: Incident
    cache_no_hit_runs: NotRequired[dict[str, int]]
    history: NotRequired[dict[str, str]]  # finding key → the last runs, '1' failing, '0' not


def fresh_state(site: str) -> State:
    return {"schema": STATE_SCHEMA, "site": site, "findings": {},
            "incident": {"open": False, "since": None, "opened_at": None, "confirmed": [],
                         "issue": None}}


_TRACKED = {"type": "object", "required": ["kind", "target", "severity", "summary",
                                          "first_seen", "last_seen", "runs", "confirmed"],
            "properties": {"kind": {"type": "string"}, "target": {"type": "string"},
                           "severity": {"enum": list(BLAMING)}, "summary": {"type": "string"},
                           "first_seen": {"type": "string"}, "last_seen": {"type": "string"},
                           "runs": {"type": "integer", "minimum": 1},
                           "confirmed": {"type": "boolean"}}}
_MESSAGE = {"type": "object", "required": ["id", "channel", "change", "text", "attempts"],
            "properties": {"id": {"type": "string"}, "channel": {"enum": ["discord", "slack"]},
                           "change": {"enum": ["declared", "updated", "reminder", "resolved"]},
                           "text": {"type": "string"}, "attempts": {"type": "integer"},
                           "not_before": {"type": ["string", "null"], "format": "date-time"}}}
STATE_SCHEMA_JSON = {
    "type": "object", "required": ["schema", "site", "findings", "incident"],
    "properties": {
        "schema": {"const": STATE_SCHEMA}, "site": {"type": "string"},
        "findings": {"type": "object", "additionalProperties": _TRACKED},
        "cache_no_hit_runs": {"type": "object",
                              "additionalProperties": {"type": "integer", "minimum": 0}},
        "incident": {"type": "object", "properties": {
            "open": {"type": "boolean"}, "since": {"type": ["string", "null"]},
            "opened_at": {"type": ["string", "null"]},
            "confirmed": {"type": "array", "items": {"type": "string"}},
            "issue": {},  # checked where it is used (notify.github.issue_number)
            "github_done": {"type": "string"},
            "outbox": {"type": "array", "items": _MESSAGE},
            "sent": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"type": "string"}}},
            "flapping": {"type": "boolean"},
            "healthy_runs": {"type": "integer", "minimum": 0},
            "last_message_at": {"type": ["string", "null"], "format": "date-time"},
            "messages": {"type": "array", "items": {"type": "string", "format": "date-time"}}}},
        "history": {"type": "object", "additionalProperties": {
            "type": "string", "pattern": "^[01]{1,1000}$"}},
    },
}


def _problem(state: Any, site: str) -> str | None:
    if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
        found = state.get("schema") if isinstance(state, dict) else type(state).__name__
        return f"not an edgeprobe state file (schema {found!r})"
    if state.get("site") != site:
        return f"belongs to site {state.get('site')!r}, not {site!r}"
    found = violation(STATE_SCHEMA_JSON, state)
    return f"invalid at {found[0]}: {found[1]}" if found else None


def issue_number(value: Any) -> int | None:
    """A positive integer, or None: anything else never reaches an API path."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def load_state(path: str | Path, site: str) -> tuple[State, str | None]:
    """The saved state, or a fresh one plus a warning when the file is corrupt, invalid or
    another site's. A file that was there is kept aside (``FILE.bad-<time>``) for a person
    to look at, never silently lost; a crash on it every run is what this prevents."""
    p = Path(path)
    if not p.exists():
        return fresh_state(site), None
    aside_entries: str | None = None
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
        aside_entries = _set_aside_bad_messages(state)
        problem = _problem(state, site)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        problem = f"unreadable ({type(exc).__name__}: {str(exc)[:200]})"
    if problem:
        aside = p.with_name(f"{p.name}.bad-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(p, aside)
            kept = f"kept as {aside}"
        except OSError as exc:
            kept = f"could not be kept aside ({exc.strerror})"
        return fresh_state(site), f"state file {p}: {problem}; {kept}; starting a fresh one"
    fresh = fresh_state(site)["incident"]
    state["incident"] = {**fresh, **state["incident"]}
    return state, (f"state file {p}: {aside_entries}" if aside_entries else None)


def _sendable_time(due: Any) -> bool:
    if due is None:
        return True
    try:
        return isinstance(due, str) and parse_time(due) is not None
    except ValueError:
        return False


def _set_aside_bad_messages(state: Any) -> str | None:
    """Queued chat messages that cannot be sent as they are (not an object, a ``not_before``
    that is no date) are dropped from the outbox, and said: one bad entry must not cost the
    whole state (the open issue's number with it, so a second issue), nor crash every
    notify."""
    inc = state.get("incident") if isinstance(state, dict) else None
    if not isinstance(inc, dict) or not isinstance(inc.get("outbox"), list):
        return None
    outbox = inc["outbox"]
    kept, dropped = [], 0
    for message in outbox:
        if isinstance(message, dict) and _sendable_time(message.get("not_before")):
            kept.append(message)
        else:
            dropped += 1
    if not dropped:
        return None
    inc["outbox"] = kept
    return f"{dropped} queued chat message(s) set aside: not sendable as saved (bad not_before)"


def save_state(path: str | Path, state: State) -> None:
    atomic_write(path, json.dumps(state, indent=2, sort_keys=True) + "\n")


