"""In-run confirmation: a failure this run sees that the last run did not is asked again,
within the run, before anyone is told (docs/scheduling.md, "Confirmed in the run that sees
it").

Just what failed is asked again — the node's failed (address, object) fetches, its canary
keys for a broken path to the bucket, its browser checks for a protocol or Range finding —
on fresh connections, after ``retest_after_s`` and, still failing, ``retest_again_after_s``,
within ``retest_budget_s``. The run is then judged again on the new answers: a failure that
is still there is *confirmed* (``evidence.retest.confirmed``, an incident is declared now);
one that healed stays in the run as a *transient* — the same kind, severity info, both
answers as evidence — and blames no one. Configuration facts (a header, a certificate, a
cache policy) are not blips and are not re-tested; a run without new failures costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypedDict

from edgeprobe.analyze import Analysis, AnalysisInput, Finding, analyze
from edgeprobe.config.settings import Settings
from edgeprobe.observe.observations import MAIN, FetchResult, Followup, SampleObject, Target
from edgeprobe.vocabulary import BLAMING, FAILURE_KINDS, INFO, finding_order, health

# what a re-test can tell from a blip: failures of requests, not configuration facts
RETESTED = frozenset({*FAILURE_KINDS.values(), "node_origin_path_broken", "node_http2_broken",
                      "node_http3_broken", "node_range_broken"})
PER_NODE = 8  # failed fetches asked again per node, at most
Sleep = Callable[[float], Awaitable[None]]


class Retest(TypedDict):
    """``evidence.retest`` of a re-tested finding."""

    confirmed: bool  # still failing on the last re-test
    after_s: list[float]  # when each re-test was asked, after the first answers
    answers: list[Answer]  # what the node answered the last re-test


class Answer(TypedDict):
    path: str
    address: str | None
    status_code: int | None
    error: str | None


def key(f: Finding) -> str:
    return f"{f.kind}|{f.target}"


def candidates(analysis: Analysis, known: set[str]) -> list[Finding]:
    """The failures to ask again: blaming, re-testable, not seen by the last run."""
    return [f for f in analysis.findings if f.severity in BLAMING and f.kind in RETESTED
            and f.scope == "node" and key(f) not in known]


def _redo(inp: AnalysisInput, nodes: set[str]) -> list[tuple[str, str, str]]:
    """(node, path, variant) of each answer to ask again."""
    out: list[tuple[str, str, str]] = []
    for node in sorted(nodes):
        failed = [f for f in inp.fetches if f.node == node and _failed(f)][:PER_NODE]
        out += [(f.node, f.path, MAIN) for f in failed]
        out += [(f.node, f.path, MAIN) for f in inp.canaries if f.node == node]
        out += [(f.node, f.path, f.variant) for f in inp.browser if f.node == node]
    return out


def _failed(f: FetchResult) -> bool:
    return f.error_kind is not None or not (f.status_code and 200 <= f.status_code < 300)


def _swap(inp: AnalysisInput, fresh: Sequence[FetchResult]) -> AnalysisInput:
    new = {(f.node, f.path, f.variant): f for f in fresh}

    def one(old: FetchResult) -> FetchResult:
        fresh = new.get((old.node, old.path, old.variant))
        if fresh is None:
            return old
        # a node's certificate rides on its first request: keep it if the re-test made none
        return fresh if fresh.certificate or not old.certificate else \
            replace(fresh, certificate=old.certificate)

    def swap(items: tuple[FetchResult, ...]) -> tuple[FetchResult, ...]:
        return tuple(one(f) for f in items)

    return replace(inp, fetches=swap(inp.fetches), canaries=swap(inp.canaries),
                   browser=swap(inp.browser))


async def confirm(s: Settings, targets: Sequence[Target], objects: Sequence[SampleObject],
                  inp: AnalysisInput, analysis: Analysis, known: set[str],
                  sleep: Sleep = asyncio.sleep) -> tuple[AnalysisInput, Analysis]:
    """The run's input and analysis after re-testing its new failures (unchanged when it
    has none, or ``[incident] retests = 0``)."""
    from edgeprobe.observe.fetch import fetch_followups

    new = candidates(analysis, known)
    policy = s.incident
    if not new or policy.retests == 0:
        return inp, analysis
    by_node = {t.node: t for t in targets}
    by_path = {o.path: o for o in objects}
    end = time.monotonic() + policy.retest_budget_s
    delays = (policy.retest_after_s, policy.retest_again_after_s)[: policy.retests]
    asked: list[float] = []
    fresh: list[FetchResult] = []
    elapsed = 0.0
    current = analysis
    for delay in delays:
        if time.monotonic() + delay > end:
            break
        await sleep(delay)
        elapsed += delay
        redo = [Followup(by_node[n], by_path[p], v) for n, p, v in
                _redo(inp, {f.target for f in new}) if n in by_node and p in by_path]
        fresh = await fetch_followups(s.site, s.probe, redo, s.web_origin)
        inp = _swap(inp, fresh)
        current = analyze(inp)
        asked.append(round(elapsed, 1))
        still = {key(f) for f in current.findings if f.severity in BLAMING}
        if not any(key(f) in still for f in new):
            break
    if not asked:  # the budget allowed no re-test: what was seen counts, unmarked
        return inp, analysis
    answers: dict[str, list[Answer]] = {}
    for f in fresh:
        answers.setdefault(f.node, []).append(Answer(path=f.path, address=f.address,
                                                     status_code=f.status_code, error=f.error))
    return inp, _annotated(current, new, asked, answers)


def _annotated(current: Analysis, new: Sequence[Finding], asked: list[float],
               answers: dict[str, list[Answer]]) -> Analysis:
    """The re-judged analysis, each re-tested finding marked confirmed, each healed one
    added back as a transient (info)."""
    first = {key(f): f for f in new}
    out: list[Finding] = []
    for f in current.findings:
        if key(f) in first and f.severity in BLAMING:
            f = replace(f, summary=f"{f.summary} (confirmed on re-test after "
                        f"{' and '.join(f'{s:g} s' for s in asked)})",
                        evidence={**f.evidence, "retest": Retest(
                confirmed=True, after_s=asked, answers=answers.get(f.target, [])[:5])})
        out.append(f)
    blamed = {key(f) for f in current.findings if f.severity in BLAMING}
    for k, f in first.items():
        if k not in blamed:
            out.append(replace(f, severity=INFO, summary=f"{f.summary} — transient: healed "
                               f"on re-test after {asked[-1]:g} s, nobody is paged",
                               evidence={**f.evidence, "retest": Retest(
                                   confirmed=False, after_s=asked,
                                   answers=answers.get(f.target, [])[:5])}))
    out.sort(key=lambda f: finding_order(f.severity, f.scope, f.target, f.kind))
    return replace(current, findings=tuple(out),
                   health=health(f.severity for f in out) if out else current.health)


