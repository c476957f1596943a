"""Incident state across runs (``--state FILE``): pure transitions, plus the file's I/O.

A finding (kind + target, warning or critical) must be seen in ``confirm_runs`` consecutive
runs before it is *confirmed*; the first confirmed finding *declares* an incident, a newly
confirmed (or newly gone) one *updates* it, and a run with nothing confirmed *resolves* it.
Only declared/updated/resolved runs notify anyone (see notify/), so one blip pages nobody.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgeprobe.fileio import atomic_write
from edgeprobe.result.codec import from_json
from edgeprobe.result.parts import TrackedFinding
from edgeprobe.result.types import IncidentInfo, RunFinding, RunResult
from edgeprobe.result.validation import parse_time, violation
from edgeprobe.vocabulary import BLAMING

STATE_SCHEMA = "edgeprobe/state@1"


def fresh_state(site: str) -> dict[str, Any]:
    return {"schema": STATE_SCHEMA, "site": site, "findings": {},
            "incident": {"open": False, "since": None, "opened_at": None, "confirmed": [],
                         "issue": None}}


def _key(finding: RunFinding) -> str:
    return f"{finding.kind}|{finding.target}"


def advance(state: dict[str, Any], run: RunResult,
            confirm_runs: int) -> tuple[dict[str, Any], RunResult]:
    """(new state, the run with per-finding state and an ``incident`` block)."""
    state = copy.deepcopy(state)
    now = run.started_at
    before = state["findings"]
    after: dict[str, dict[str, Any]] = {}
    findings = []
    for f in run.findings:
        if f.severity not in BLAMING:
            findings.append(f)
            continue
        prev = before.get(_key(f))
        runs = prev["runs"] + 1 if prev else 1
        first_seen: str = prev["first_seen"] if prev else now
        after[_key(f)] = {"kind": f.kind, "target": f.target, "severity": f.severity,
                          "summary": f.summary, "first_seen": first_seen, "last_seen": now,
                          "runs": runs,
                          "confirmed": runs >= confirm_runs or bool(prev and prev["confirmed"])}
        findings.append(replace(f, state="new" if prev is None else "ongoing",
                                first_seen=first_seen, runs=runs))
    resolved = [{**v, "state": "resolved"} for k, v in before.items() if k not in after]
    confirmed = sorted(k for k, v in after.items() if v["confirmed"])
    inc = state["incident"]
    was_open = inc["open"]
    change = None
    if confirmed:
        word = "open"
        if not was_open:
            change, inc["opened_at"] = "declared", now
        elif set(confirmed) != set(inc["confirmed"]):
            change = "updated"
        inc["since"] = min(after[k]["first_seen"] for k in confirmed)
    else:
        word = "resolved" if was_open else ("pending" if after else "none")
        change = "resolved" if was_open else None
        inc["since"] = None
    inc.update(open=bool(confirmed), confirmed=confirmed)
    state["findings"] = after
    state["cache_no_hit_runs"] = {n.name: n.cache.no_hit_runs for n in run.nodes
                                  if n.cache and n.cache.no_hit_runs}
    block = IncidentInfo(
        state=word, change=change, since=inc["since"],
        runs=max((after[k]["runs"] for k in confirmed), default=0), confirm_runs=confirm_runs,
        confirmed=tuple(from_json(TrackedFinding, after[k]) for k in confirmed),
        resolved=tuple(from_json(TrackedFinding, r) for r in resolved),
        issue=issue_number(inc.get("issue")))
    return state, replace(run, findings=tuple(findings), incident=block)


_TRACKED = {"type": "object", "required": ["kind", "target", "severity", "summary",
                                          "first_seen", "last_seen", "runs", "confirmed"],
            "properties": {"kind": {"type": "string"}, "target": {"type": "string"},
                           "severity": {"enum": list(BLAMING)}, "summary": {"type": "string"},
                           "first_seen": {"type": "string"}, "last_seen": {"type": "string"},
                           "runs": {"type": "integer", "minimum": 1},
                           "confirmed": {"type": "boolean"}}}
_MESSAGE = {"type": "object", "required": ["id", "channel", "change", "text", "attempts"],
            "properties": {"id": {"type": "string"}, "channel": {"enum": ["discord", "slack"]},
                           "change": {"enum": ["declared", "updated", "resolved"]},
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
                "type": "array", "items": {"type": "string"}}}}},
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


def load_state(path: str | Path, site: str) -> tuple[dict[str, Any], str | None]:
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


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(state, indent=2, sort_keys=True) + "\n")


def apply(run: RunResult, path: str | Path, confirm_runs: int,
          loaded: tuple[dict[str, Any], str | None] | None = None
          ) -> tuple[RunResult, str | None, Callable[[], None]]:
    """Load (unless ``loaded``: load_state's answer, read before the run) and advance the
    state; return the annotated run, any warning, and what saves the new state. The caller
    saves it *last*, after the run's outputs are written: a failed write or a kill in
    between then costs nothing — the next run declares again — where saving first would
    lose the declaration for good."""
    state, warning = loaded or load_state(path, run.site.name)
    state, run = advance(state, run, confirm_runs)
    if warning and run.incident:
        run = replace(run, incident=replace(run.incident, state_warning=warning))
    return run, warning, lambda: save_state(path, state)
