"""Incident state across runs (``--state FILE``): the pure transitions.

A finding (kind + target, warning or critical) must be seen in ``confirm_runs`` consecutive
runs before it is *confirmed*; the first confirmed finding *declares* an incident, a newly
confirmed (or newly gone) one *updates* it, and a run with nothing confirmed *resolves* it.
Only declared/updated/resolved runs notify anyone (see notify/), so one blip pages nobody.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from edgeprobe.incident.state import State, Tracked, issue_number, load_state, save_state
from edgeprobe.result.codec import from_json
from edgeprobe.result.parts import TrackedFinding
from edgeprobe.result.types import IncidentInfo, RunFinding, RunResult
from edgeprobe.vocabulary import BLAMING


def _key(finding: RunFinding) -> str:
    return f"{finding.kind}|{finding.target}"


def advance(state: State, run: RunResult, confirm_runs: int) -> tuple[State, RunResult]:
    """(new state, the run with per-finding state and an ``incident`` block)."""
    state = copy.deepcopy(state)
    now = run.started_at
    before = state["findings"]
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
    inc["open"], inc["confirmed"] = bool(confirmed), confirmed
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


def apply(run: RunResult, path: str | Path, confirm_runs: int,
          loaded: tuple[State, str | None] | None = None
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
