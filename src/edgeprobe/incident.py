"""Incident state across runs (``--state FILE``): pure transitions, plus the file's I/O.

A finding (kind + target, warning or critical) must be seen in ``confirm_runs`` consecutive
runs before it is *confirmed*; the first confirmed finding *declares* an incident, a newly
confirmed (or newly gone) one *updates* it, and a run with nothing confirmed *resolves* it.
Only declared/updated/resolved runs notify anyone (see notify.py), so one blip pages nobody.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from edgeprobe.fileio import atomic_write

STATE_SCHEMA = "edgeprobe/state@1"
BLAMING = ("warning", "critical")


def fresh_state(site: str) -> dict[str, Any]:
    return {"schema": STATE_SCHEMA, "site": site, "findings": {},
            "incident": {"open": False, "since": None, "opened_at": None, "confirmed": [],
                         "issue": None}}


def _key(finding: dict[str, Any]) -> str:
    return f"{finding['kind']}|{finding['target']}"


def advance(state: dict[str, Any], run: dict[str, Any],
            confirm_runs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(new state, run annotated with per-finding state and an ``incident`` block)."""
    state, run = copy.deepcopy(state), copy.deepcopy(run)
    now = run["started_at"]
    before = state["findings"]
    after: dict[str, dict[str, Any]] = {}
    for f in run["findings"]:
        if f["severity"] not in BLAMING:
            continue
        prev = before.get(_key(f))
        runs = prev["runs"] + 1 if prev else 1
        entry = {"kind": f["kind"], "target": f["target"], "severity": f["severity"],
                 "summary": f["summary"], "first_seen": prev["first_seen"] if prev else now,
                 "last_seen": now, "runs": runs,
                 "confirmed": runs >= confirm_runs or bool(prev and prev["confirmed"])}
        after[_key(f)] = entry
        f.update(state="new" if prev is None else "ongoing", first_seen=entry["first_seen"],
                 runs=runs)
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
    run["incident"] = {
        "state": word, "change": change, "since": inc["since"],
        "runs": max((after[k]["runs"] for k in confirmed), default=0),
        "confirm_runs": confirm_runs, "confirmed": [after[k] for k in confirmed],
        "resolved": resolved, "issue": inc.get("issue"),
    }
    return state, run


def load_state(path: str | Path, site: str) -> tuple[dict[str, Any], str | None]:
    """The saved state, or a fresh one plus a warning when the file is corrupt or foreign
    (it is then replaced on save, never a crash)."""
    p = Path(path)
    if not p.exists():
        return fresh_state(site), None
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
        problem = None
        if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
            found = state.get("schema") if isinstance(state, dict) else type(state).__name__
            problem = f"not an edgeprobe state file (schema {found!r})"
        elif state.get("site") != site:
            problem = f"belongs to site {state.get('site')!r}, not {site!r}"
        elif not isinstance(state.get("findings"), dict) or not isinstance(
                state.get("incident"), dict):
            problem = "lacks findings or incident"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"unreadable ({type(exc).__name__}: {exc})"
    if problem:
        return fresh_state(site), f"state file {p}: {problem}; starting a fresh one"
    fresh = fresh_state(site)["incident"]
    state["incident"] = {**fresh, **state["incident"]}
    return state, None


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(state, indent=2, sort_keys=True) + "\n")


def apply(run: dict[str, Any], path: str | Path,
          confirm_runs: int) -> tuple[dict[str, Any], str | None]:
    """Load, advance and save the state file; return the annotated run and any warning."""
    state, warning = load_state(path, run["site"]["name"])
    state, run = advance(state, run, confirm_runs)
    save_state(path, state)
    if warning:
        run["incident"]["state_warning"] = warning
    return run, warning
