"""A day of scheduled runs (96 at 15 minutes) replayed through the incident state machine:
how many issues are opened, how many comments and chat messages go out, and when.

Each run is what the pipeline hands the state machine: a failure the last run did not see
was re-tested in its run (``evidence.retest``: confirmed, or healed and then only an info
transient); the default [incident] rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from edgeprobe import incident
from edgeprobe.config.settings import IncidentSettings
from edgeprobe.result.files import parse_run

FREMONT, SEATTLE = "cdn-fremont-1", "cdn-seattle-1"
START = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def _finding(kind: str, node: str, blip: bool, new: bool, retested: bool) -> dict:
    evidence: dict = {}
    if new and retested:  # asked again in its run: a blip healed, a real failure did not
        evidence["retest"] = {"confirmed": not blip, "after_s": [2.0] if blip else [2.0, 12.0],
                              "answers": []}
    return {"kind": kind, "scope": "node", "target": node, "severity": "info" if blip else
            "critical", "summary": f"{node}: {kind}", "evidence": evidence}


@dataclass
class Counts:
    issues_opened: int = 0
    comments: int = 0
    messages: int = 0
    closed: int = 0
    changes: list[tuple[int, str]] = field(default_factory=list)
    flapping: bool = False


def replay(script, policy: IncidentSettings | None = None, runs: int = 96,
           retested: bool = True) -> Counts:
    """``script(i)`` → [(kind, node, blip)] failing in run i. Counts what notify would do:
    an issue opened on declared (one per incident), a comment on updated and reminder,
    a comment and close on resolved, one chat message per change."""
    policy = policy or IncidentSettings()
    state, out, before = incident.fresh_state("lab"), Counts(), set()
    for i in range(runs):
        failing = script(i)
        findings = [_finding(k, n, blip, (k, n) not in before, retested)
                    for k, n, blip in failing]
        before = {(k, n) for k, n, blip in failing if not blip}
        run = {"schema": "edgeprobe/run@1", "ok": not before,
               "started_at": (START + timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "duration_s": 1.0, "site": {"name": "lab", "media_url": "https://m"},
               "nodes": [], "regions": [], "objects": [], "findings": findings}
        state, typed = incident.advance(state, parse_run(run), policy)
        change = typed.incident.change if typed.incident else None
        out.flapping |= bool(typed.incident and typed.incident.flapping)
        if change:
            out.changes.append((i, change))
            out.messages += 1
            out.issues_opened += change == "declared"
            out.comments += change in ("updated", "reminder", "resolved")
            out.closed += change == "resolved"
    return out


def test_a_real_outage_is_declared_in_the_run_that_sees_it():
    c = replay(lambda i: [("node_media_missing", FREMONT, False)] if 10 <= i < 40 else [])
    assert c.changes == [(10, "declared"), (41, "resolved")]  # resolve_after = 2
    assert (c.issues_opened, c.messages, c.closed) == (1, 2, 1)


def test_a_blip_healed_on_retest_pages_nobody():
    c = replay(lambda i: [("node_server_error", SEATTLE, True)] if i in (10, 50, 77) else [])
    assert c.changes == [] and c.messages == 0


def test_an_edge_failing_every_other_run_for_six_hours_is_one_flapping_incident():
    c = replay(lambda i: [("node_server_error", FREMONT, False)]
               if 10 <= i < 34 and i % 2 == 0 else [])
    assert c.issues_opened == 1 and c.flapping
    assert c.messages <= 4, c.changes  # declared, flapping noted, resolved
    assert c.changes[0] == (10, "declared") and c.changes[-1][1] == "resolved"


def test_a_cause_change_on_the_same_edge_updates_the_same_issue():
    def script(i):
        if 10 <= i < 20:
            return [("node_media_missing", FREMONT, False)]
        if 20 <= i < 30:
            return [("node_origin_path_broken", FREMONT, False)]
        return []
    c = replay(script)
    assert c.changes == [(10, "declared"), (20, "updated"), (31, "resolved")]
    assert c.issues_opened == 1


def test_a_new_edge_during_an_open_incident_is_an_update():
    def script(i):
        out = [("node_media_missing", FREMONT, False)] if 10 <= i < 30 else []
        return out + ([("node_server_error", SEATTLE, False)] if 15 <= i < 30 else [])
    c = replay(script)
    assert c.changes == [(10, "declared"), (15, "updated"), (31, "resolved")]


def test_a_long_incident_is_recalled_each_day_and_the_hourly_cap_holds():
    c = replay(lambda i: [("node_media_missing", FREMONT, False)], runs=200)
    assert c.changes == [(0, "declared"), (96, "reminder"), (192, "reminder")]
    # symptoms changing every run: updates, but never more than messages_per_hour an hour
    kinds = ("node_media_missing", "node_server_error")
    c = replay(lambda i: [(kinds[i % 2], FREMONT, False)] if i < 12 else [],
               IncidentSettings(flap_changes=1000))
    per_hour: dict[int, int] = {}
    for i, change in c.changes:
        if change in ("updated", "reminder"):
            per_hour[i // 4] = per_hour.get(i // 4, 0) + 1
    assert per_hour and max(per_hour.values()) <= IncidentSettings().messages_per_hour


def test_confirm_runs_keeps_its_meaning_for_those_who_want_it():
    """With [incident] retests = 0 nothing is re-tested: confirm_runs alone counts."""
    outage = lambda i: [("node_media_missing", FREMONT, False)] if 10 <= i < 40 else []  # noqa: E731
    c = replay(outage, IncidentSettings(confirm_runs=3, retests=0), retested=False)
    assert c.changes == [(12, "declared"), (41, "resolved")]
    # a re-test's confirmation counts at once, whatever confirm_runs says
    assert replay(outage, IncidentSettings(confirm_runs=3)).changes[0] == (10, "declared")


def test_the_day_in_the_docs():
    """docs/scheduling.md's table, run by run."""
    ashburn, newark = "cdn-ashburn-1", "cdn-newark-1"

    def day(i):
        out = []
        if i == 10:
            out.append(("node_server_error", newark, True))  # healed on its re-test
        if 12 <= i < 30:
            out.append(("node_media_missing", FREMONT, False))
        if 20 <= i < 30:
            out.append(("node_origin_path_broken", FREMONT, False))
        if 21 <= i < 30:
            out.append(("node_server_error", SEATTLE, False))
        if 40 <= i < 64 and i % 2 == 0:
            out.append(("node_server_error", ashburn, False))
        return out

    c = replay(day)
    assert c.changes == [(12, "declared"), (20, "updated"), (21, "updated"), (31, "resolved"),
                         (40, "declared"), (44, "updated"), (66, "resolved")]
    assert (c.issues_opened, c.messages, c.flapping) == (2, 7, True)


def test_a_vantages_confirmed_failure_is_confirmed_in_the_merge():
    """Two vantages see the same edge failing: one re-tested it (new there) and confirmed
    it, the other had seen it before (not re-tested). The merged finding is confirmed."""
    from edgeprobe.merge.vantages import judge_vantages

    def node(name: str, failing: bool) -> dict:
        return {"name": name, "region": "r", "addresses": [], "checks": 1,
                "failures": int(failing), "status": "failing" if failing else "healthy",
                "latency_ms": {"p50": None, "p95": None, "max": None}}

    def vantage(name: str, retested: bool) -> dict:
        return {"schema": "edgeprobe/run@1", "ok": False, "started_at": "2026-11-30T00:00:00Z",
                "duration_s": 1.0, "vantage": name,
                "site": {"name": "lab", "media_url": "https://m"},
                "nodes": [node(FREMONT, True), node(SEATTLE, False)], "regions": [],
                "objects": [],
                "findings": [_finding("node_media_missing", FREMONT, False, True, retested)]}

    merged = judge_vantages([parse_run(vantage("eu", False)), parse_run(vantage("us", True))])
    (finding,) = [f for f in merged.findings if f.kind == "node_media_missing"]
    assert finding.severity == "critical"
    assert finding.evidence["retest"]["confirmed"] is True
    assert set(finding.evidence["vantages"]) == {"eu", "us"}
    _, run = incident.advance(incident.fresh_state("lab"), parse_run({
        **vantage("all", False), "findings": [run_json_finding(finding)]}),
        IncidentSettings(confirm_runs=3))
    assert run.incident and run.incident.change == "declared"  # confirmed, whatever runs say


def run_json_finding(f) -> dict:
    from edgeprobe.result.codec import to_json

    return to_json(f)
