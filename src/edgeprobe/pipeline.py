"""The pipeline API: the one way in for every caller (CLI, action, demo, tests).

    probe(settings, Scope.all() | Scope.node(name) | Scope.region(name),
          state=PATH, progress=FN, outputs=FN) -> run result

config → resolve → sample → origin ∥ fetch → analyze → run result, plus the incident state
when ``state`` is given. The rules that callers used to decide each on their own live here:
the scope narrows the fleet (a ProbeError names what exists), and a partial run never
touches the incident state (it would resolve every node it did not probe) — the run says
so in ``warnings`` instead; and the state is saved last, after ``outputs`` wrote the run's
reports. Remote failures are findings, never exceptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from edgeprobe.analyze import Analysis, AnalysisInput, analyze
from edgeprobe.analyze.rollup import FleetWideEvidence
from edgeprobe.config import defaults
from edgeprobe.config.settings import Settings
from edgeprobe.errors import ProbeError
from edgeprobe.observe.observations import FetchResult, Target
from edgeprobe.observe.targets import node_targets, per_address, with_unlisted
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import MISSING

ProgressFn = Callable[[int, int, FetchResult | None], None]
OutputsFn = Callable[[RunResult], object]  # writes the run's outputs (reports, files)
PARTIAL_STATE = "partial run: incident state left unchanged (it tracks the whole fleet)"


@dataclass(frozen=True)
class Scope:
    """What part of the fleet a run probes: ``all``, one ``node`` or one ``region``."""

    kind: str = "all"
    name: str | None = None

    @classmethod
    def all(cls) -> Scope:
        return cls()

    @classmethod
    def node(cls, name: str) -> Scope:
        return cls("node", name)

    @classmethod
    def region(cls, name: str) -> Scope:
        return cls("region", name)

    @classmethod
    def of(cls, node: str | None = None, region: str | None = None) -> Scope:
        """From the CLI's and the action's optional --node / --region."""
        return cls.node(node) if node else cls.region(region) if region else cls.all()

    @property
    def partial(self) -> bool:
        return self.kind != "all"

    def select(self, settings: Settings) -> Settings:
        """The settings narrowed to this scope (a ProbeError names what exists)."""
        if self.kind == "node":
            chosen = tuple(n for n in settings.nodes if n.name == self.name)
            if not chosen:
                names = ", ".join(n.name for n in settings.nodes)
                raise ProbeError(f"no node named {self.name!r} in {settings.source} "
                                 f"(nodes: {names})")
            return replace(settings, nodes=chosen)
        if self.kind == "region":
            chosen = tuple(n for n in settings.nodes if n.region == self.name)
            if not chosen:
                regions = ", ".join(settings.regions())
                raise ProbeError(f"no region named {self.name!r} in {settings.source} "
                                 f"(regions: {regions})")
            return replace(settings, nodes=chosen)
        return settings


def probe(settings: Settings, scope: Scope | None = None, *, state: str | Path | None = None,
          progress: ProgressFn | None = None, vantage: str | None = None,
          outputs: OutputsFn | None = None) -> RunResult:
    """Run the pipeline (blocking) and return the run result; see the module docstring."""
    return asyncio.run(probe_async(settings, scope, state=state, progress=progress,
                                   vantage=vantage, outputs=outputs))


def merge(paths: Sequence[str], *, state: str | Path | None = None,
          confirm_runs: int = defaults.CONFIRM_RUNS,
          max_spread_s: float = defaults.MERGE_MAX_SPREAD_S,
          outputs: OutputsFn | None = None, expect: Sequence[str] = ()) -> RunResult:
    """Several vantages' saved runs of one probe file → one merged run (run@2), checked
    and judged together (merge/); with ``state``, the incident is kept once for all."""
    from edgeprobe import incident
    from edgeprobe.fileio import check_state, held
    from edgeprobe.merge.runs import load_runs, merged_run

    run = merged_run(load_runs(paths, max_spread_s))
    seen = {v.name for v in run.vantages or ()}
    missing = [v for v in dict.fromkeys(expect) if v not in seen]
    if missing:  # late (past the workflow's deadline) or failed: named, the rest merged
        run = replace(run, warnings=(*(run.warnings or ()), *(
            f"vantage {v} sent no run (late or failed): merged without it" for v in missing)))
    if state is None:
        return _finish(run, outputs, None)
    check_state(state)
    with held(state):
        run, warning, save = incident.apply(run, state, confirm_runs)
        if warning:
            run = replace(run, warnings=(*(run.warnings or ()), warning))
        return _finish(run, outputs, save)


def _finish(run: RunResult, outputs: OutputsFn | None, save: Callable[[], None] | None
            ) -> RunResult:
    """The run's outputs first, the incident state last: a failed write (or a kill) in
    between leaves the state as it was, and the next run declares again."""
    if outputs is not None:
        outputs(run)
    if save is not None:
        save()
    return run


def vantage_name(given: str | None = None) -> str:
    """Where a run probes from: ``given`` (--vantage), else $EDGEPROBE_VANTAGE, else the
    host name. A ProbeError for a name merge could not tell apart or show safely."""
    import os
    import platform
    import re

    name = given or os.environ.get("EDGEPROBE_VANTAGE") or platform.node() or "unknown"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ProbeError(f"vantage name {name!r}: use up to 64 letters, digits, '.', '_', '-'")
    return name


async def probe_async(settings: Settings, scope: Scope | None = None, *,
                      state: str | Path | None = None,
                      progress: ProgressFn | None = None, vantage: str | None = None,
                      outputs: OutputsFn | None = None) -> RunResult:
    """``probe`` for callers that have an event loop."""
    from edgeprobe.fileio import check_state, held

    scope = scope or Scope.all()
    where = vantage_name(vantage)
    chosen = scope.select(settings)
    if state is None or scope.partial:
        return await _probe(settings, chosen, scope, state, progress, where, outputs)
    check_state(state)  # before probing: a run must not be lost to a bad state path
    with held(state):  # one run per state file at a time
        return await _probe(settings, chosen, scope, state, progress, where, outputs)


async def _probe(settings: Settings, chosen: Settings, scope: Scope, state: str | Path | None,
                 progress: ProgressFn | None, where: str, outputs: OutputsFn | None
                 ) -> RunResult:
    from edgeprobe import incident

    tracked = state is not None and not scope.partial
    # the state is read once, before the run: its cache history feeds node_never_caches
    loaded = incident.load_state(state, settings.site.name) if tracked and state else None
    history = dict(loaded[0].get("cache_no_hit_runs", {})) if loaded else {}
    run = replace(await _run(chosen, scope, progress, history), vantage=where)
    save = None
    if state is not None:
        warning: str | None = PARTIAL_STATE
        if tracked:
            run, warning, save = incident.apply(run, state, settings.incident.confirm_runs,
                                                loaded)
        if warning:
            run = replace(run, warnings=(*(run.warnings or ()), warning))
    return _finish(run, outputs, save)


async def _run(settings: Settings, scope: Scope, progress: ProgressFn | None,
               no_hit_runs: dict[str, int]) -> RunResult:
    from edgeprobe.observe import canary
    from edgeprobe.observe.fetch import fetch_all
    from edgeprobe.observe.followup import browser_checks, protocols_tested
    from edgeprobe.observe.geodns import ask_views
    from edgeprobe.observe.origin import check_origin
    from edgeprobe.observe.resolve import resolve_all
    from edgeprobe.observe.sample import build_sample
    from edgeprobe.result.build import build

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    s = settings
    # views only for the whole fleet: an address of an unprobed node is not "unlisted"
    resolutions, sample, answers = await asyncio.gather(
        resolve_all(s.dns, s.nodes),
        build_sample(s.samples, s.origin, s.site.media_host, s.probe.timeout_s),
        ask_views(s.dns, s.site.media_host, s.views if not scope.partial else ()))
    # a bucket that cannot be listed is a finding (origin_unavailable), and the edges are still
    # probed (the canary needs no sampled object); nothing to sample *at all* is a bad file
    listing_failed = any(n.evidence.get("error_kind") for n in sample.notes)
    if not sample.objects and not listing_failed:
        notes = "; ".join(n.summary for n in sample.notes)
        raise ProbeError("nothing to probe: no sample paths, and no object found through "
                         "[samples] bucket_prefixes or mastodon_api" + (f" ({notes})" if notes
                                                                        else ""))
    s, resolutions, unlisted, skipped = with_unlisted(s, resolutions, answers)
    s, resolutions = per_address(s, resolutions)
    targets = node_targets(s, resolutions)
    canaries = canary.objects(s.canary, s.origin.url_prefix)
    total = (len(sample.objects) + len(canaries)) * len(targets)
    done = 0
    if progress:
        progress(0, total, None)

    def on_result(result: FetchResult) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, result)

    # the canary keys ride with the sampled objects (after them: same connections)
    origin, fetched, unverified, canary_ref = await asyncio.gather(
        check_origin(s.origin, [o.key for o in sample.objects], s.probe.timeout_s,
                     s.probe.concurrency,
                     listed={o.key: o.listed for o in sample.objects if o.listed}),
        fetch_all(s.site, s.probe, targets, (*sample.objects, *canaries), on_result,
                  s.web_origin),
        _unverified_tls(s, targets),
        canary.reference(s.origin, canaries, s.probe.timeout_s))
    canary_paths = {o.path for o in canaries}
    fetches = [f for f in fetched if f.path not in canary_paths]
    browser, types = await browser_checks(s, targets, sample.objects, fetches,
                                          origin.available)
    inp = AnalysisInput(
        media_host=s.site.media_host, nodes=s.nodes, resolutions=tuple(resolutions),
        objects=sample.objects, origin=origin, fetches=tuple(fetches), slow_ms=s.probe.slow_ms,
        timeout_s=s.probe.timeout_s, max_body_bytes=s.probe.max_body_bytes, scope=scope.kind,
        notes=sample.notes, tls_unverified=unverified, now=started_at,
        cert_warn_days=s.probe.cert_warn_days,
        canaries=tuple(f for f in fetched if f.path in canary_paths),
        canary_reference=canary_ref, cache_valid_h=s.canary.cache_valid_h,
        no_hit_runs=no_hit_runs, views=answers, unlisted=unlisted, skipped=skipped,
        browser=tuple(browser), protocols_tested=protocols_tested(), web_origin=s.web_origin,
        cross_origin=s.site.cross_origin, bucket_types=types, url_prefix=s.origin.url_prefix)
    analysis = analyze(inp)
    await _check_url_prefix(s, targets, inp, analysis)
    return build(s, inp, analysis, started_at, time.monotonic() - t0,
                 {"kind": scope.kind, "name": scope.name})


async def _unverified_tls(settings: Settings,
                          targets: Sequence[Target]) -> dict[str, str | None] | None:
    """With verify_tls = false, what verification would have said per node (first
    address); None when verification is on."""
    from edgeprobe.observe.fetch import tls_verification

    site = settings.site
    if site.verify_tls or site.scheme != "https":
        return None
    said = await asyncio.gather(*(tls_verification(site, t.addresses[0], t.port,
                                                   settings.probe.timeout_s) for t in targets))
    return {t.node: message for t, message in zip(targets, said, strict=True)}


async def _check_url_prefix(settings: Settings, targets: Sequence[Target], inp: AnalysisInput,
                            analysis: Analysis) -> None:
    """Every node answering 404 for every object the bucket has is most often a wrong
    [origin] url_prefix, not a fleet-wide outage: one request for a known key under the
    other usual prefix tells, and a ProbeError then names both (no false alarm)."""
    from edgeprobe.mastodon import key_to_path
    from edgeprobe.observe.fetch import fetch_all
    from edgeprobe.observe.observations import SampleObject

    fleet = next((f for f in analysis.findings if f.kind == "fleet_wide_failure"), None)
    if fleet is None or set(cast(FleetWideEvidence, fleet.evidence)["verdicts"]) != {MISSING} \
            or not targets:
        return
    known = [o for o in inp.objects if analysis.references[o.path].source == "bucket"
             and analysis.references[o.path].exists]
    if not known:
        return
    prefix = settings.origin.url_prefix
    obj, ref = known[0], analysis.references[known[0].path]
    for other in ("/",) if prefix != "/" else ("/system/",):
        trial = SampleObject(key_to_path(obj.key, other), obj.key, "paths")
        (result,) = await fetch_all(settings.site, settings.probe, targets[:1], [trial])
        if result.status_code == 200 and result.size == ref.size:
            raise ProbeError(
                f"every node answers 404 under [origin] url_prefix {prefix!r}, but "
                f"{targets[0].node} serves the bucket's objects under {other!r} (200 and the "
                f"bucket's {ref.size} bytes for {trial.path}): set url_prefix = {other!r} in "
                f"{settings.source}")
