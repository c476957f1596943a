"""Incident state across runs (``--state FILE``): the pure transitions.

A finding (kind + target, warning or critical) is *confirmed* when its run re-tested it and
it still failed (pipeline/retest.py), or when it has been seen in ``confirm_runs``
consecutive runs. The first confirmed finding *declares* an incident; a change in what is
confirmed (a new edge, a new symptom on the same edge) *updates* the same incident; a long
one is *recalled* every ``remind_every_h``; and it is *resolved* after ``resolve_after``
healthy runs in a row. A finding whose history (the last ``flap_window`` runs) changes state
``flap_changes`` times or more is *flapping*: its incident stays one incident — held open
until ``flap_resolve_after`` healthy runs, updated at most once per reminder interval — and
says so. Updates and reminders are capped at ``messages_per_hour``; declared and resolved
always go out. Only runs with a change notify anyone (see notify/).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from edgeprobe.config.settings import IncidentSettings
from edgeprobe.incident.state import (
    Incident,
    State,
    Tracked,
    issue_number,
    load_state,
    save_state,
)
from edgeprobe.result.codec import from_json
from edgeprobe.result.parts import TrackedFinding
from edgeprobe.result.types import IncidentInfo, RunFinding, RunResult
from edgeprobe.result.validation import parse_time
from edgeprobe.vocabulary import BLAMING

ALWAYS_SENT = ("declared", "resolved")


def _key(finding: RunFinding) -> str:
    return f"{finding.kind}|{finding.target}"


def _retest_confirmed(f: RunFinding) -> bool:
    retest = f.evidence.get("retest")
    return isinstance(retest, Mapping) and retest.get("confirmed") is True


def changes(history: str) -> int:
    """State changes in a history of runs ('1' failing, '0' not)."""
    return sum(1 for a, b in pairwise(history) if a != b)


def _hours_since(then: str | None, now: str) -> float:
    start, end = parse_time(then) if then else None, parse_time(now)
    if start is None or end is None:
        return float("inf")
    return (end - start) / timedelta(hours=1)


def _track(before: Mapping[str, Tracked], run: RunResult, policy: IncidentSettings
           ) -> tuple[dict[str, Tracked], list[RunFinding]]:
    now = run.started_at
    after: dict[str, Tracked] = {}
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
                          "confirmed": runs >= policy.confirm_runs or _retest_confirmed(f)
                          or bool(prev and prev["confirmed"])}
        findings.append(replace(f, state="new" if prev is None else "ongoing",
                                first_seen=first_seen, runs=runs))
    return after, findings


def _histories(state: State, failing: set[str], window: int) -> dict[str, str]:
    out = {}
    for k in set(state.get("history", {})) | failing:
        h = (state.get("history", {}).get(k, "") + ("1" if k in failing else "0"))[-window:]
        if "1" in h:  # a finding not seen for a whole window is forgotten
            out[k] = h
    return out


def _change(inc: Incident, confirmed: list[str], now: str, flapping: bool,
            policy: IncidentSettings) -> str | None:
    """What this run says of the incident (before the hourly cap)."""
    was_open = inc["open"]
    if confirmed:
        inc["healthy_runs"] = 0
        if not was_open:
            inc["opened_at"] = now
            return "declared"
        quiet = _hours_since(inc.get("last_message_at"), now) < policy.remind_every_h
        if set(confirmed) != set(inc["confirmed"]) or (flapping and not inc.get("flapping")):
            return None if flapping and quiet and inc.get("flapping") else "updated"
        return None if quiet else "reminder"
    if not was_open:
        return None
    inc["healthy_runs"] = inc.get("healthy_runs", 0) + 1
    needed = max(policy.resolve_after, policy.flap_resolve_after) if flapping \
        else policy.resolve_after
    return "resolved" if inc["healthy_runs"] >= needed else None


def _capped(inc: Incident, change: str | None, now: str, policy: IncidentSettings) -> str | None:
    """The change, unless it is an update or reminder past the hour's cap."""
    recent = [t for t in inc.get("messages", []) if _hours_since(t, now) < 1]
    if change is None or (change not in ALWAYS_SENT and len(recent) >= policy.messages_per_hour):
        inc["messages"] = recent
        return None
    inc["messages"] = [*recent, now]
    inc["last_message_at"] = now
    return change


def advance(state: State, run: RunResult,
            policy: IncidentSettings) -> tuple[State, RunResult]:
    """(new state, the run with per-finding state and an ``incident`` block)."""
    state = copy.deepcopy(state)
    now = run.started_at
    before = state["findings"]
    after, findings = _track(before, run, policy)
    history = _histories(state, set(after), policy.flap_window)
    flapping_keys = sorted(k for k, h in history.items() if changes(h) >= policy.flap_changes)
    inc = state["incident"]
    was_open = inc["open"]
    confirmed = sorted(k for k, v in after.items() if v["confirmed"])
    flapping = bool(flapping_keys) and (bool(confirmed) or was_open)
    change = _capped(inc, _change(inc, confirmed, now, flapping, policy), now, policy)
    held = was_open and not confirmed and change != "resolved"  # open through a healthy run
    if confirmed:
        word = "open"
        inc["since"] = min(after[k]["first_seen"] for k in confirmed)
        inc["confirmed"] = confirmed
    elif held:
        word = "open"
    else:
        word = "resolved" if was_open else ("pending" if after else "none")
        inc["since"], inc["confirmed"] = None, []
    inc["open"] = word == "open"
    inc["flapping"] = flapping and inc["open"]
    resolved = [{**v, "state": "resolved"} for k, v in before.items() if k not in after]
    state["findings"], state["history"] = after, history
    state["cache_no_hit_runs"] = {n.name: n.cache.no_hit_runs for n in run.nodes
                                  if n.cache and n.cache.no_hit_runs}
    block = IncidentInfo(
        state=word, change=change, since=inc["since"],
        runs=max((after[k]["runs"] for k in confirmed), default=0),
        confirm_runs=policy.confirm_runs,
        confirmed=tuple(from_json(TrackedFinding, after[k]) for k in confirmed),
        resolved=tuple(from_json(TrackedFinding, r) for r in resolved),
        issue=issue_number(inc.get("issue")), flapping=inc["flapping"],
        flapping_findings=tuple(flapping_keys) if inc["flapping"] else ())
    return state, replace(run, findings=tuple(findings), incident=block)


def apply(run: RunResult, path: str | Path, policy: IncidentSettings,
          loaded: tuple[State, str | None] | None = None
          ) -> tuple[RunResult, str | None, Callable[[], None]]:
    """Load (unless ``loaded``: load_state's answer, read before the run) and advance the
    state; return the annotated run, any warning, and what saves the new state. The caller
    saves it *last*, after the run's outputs are written: a failed write or a kill in
    between then costs nothing — the next run declares again — where saving first would
    lose the declaration for good."""
    state, warning = loaded or load_state(path, run.site.name)
    state, run = advance(state, run, policy)
    if warning and run.incident:
        run = replace(run, incident=replace(run.incident, state_warning=warning))
    return run, warning, lambda: save_state(path, state)
