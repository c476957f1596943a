"""One probe run, stage by stage: config → resolve ∥ sample ∥ views → origin ∥ fetch (each
node's browser checks as soon as its GETs are in) ∥ canary → browser checks that are left →
analyze → re-test what newly failed → run result."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from edgeprobe.analyze import Analysis, AnalysisInput, analyze
from edgeprobe.analyze.rollup import FleetWideEvidence
from edgeprobe.config.settings import Settings
from edgeprobe.errors import ProbeError
from edgeprobe.observe.observations import FetchResult, Target, ViewAnswer
from edgeprobe.observe.targets import node_targets, per_address, with_unlisted
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import MISSING

if TYPE_CHECKING:
    from edgeprobe.pipeline import Scope

ProgressFn = Callable[[int, int, FetchResult | None], None]


async def probe_run(settings: Settings, scope: Scope, progress: ProgressFn | None,
                    no_hit_runs: dict[str, int], known: set[str]) -> RunResult:
    from edgeprobe.observe import canary
    from edgeprobe.observe.fetch import fetch_each
    from edgeprobe.observe.followup import browser_checks, follow_on, protocols_tested
    from edgeprobe.observe.origin import check_origin
    from edgeprobe.observe.resolve import resolve_all
    from edgeprobe.observe.sample import build_sample
    from edgeprobe.pipeline.retest import confirm
    from edgeprobe.result.build import build

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    s = settings
    resolutions, sample, answers = await asyncio.gather(
        resolve_all(s.dns, s.nodes),
        build_sample(s.samples, s.origin, s.site.media_host, s.probe.timeout_s),
        _views(s, scope))
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

    # the canary keys ride with the sampled objects (after them: same connections), and each
    # node's browser checks follow its last GET there (observe/followup.py)
    origin, (fetched, asked), unverified, canary_ref = await asyncio.gather(
        check_origin(s.origin, [o.key for o in sample.objects], s.probe.timeout_s,
                     s.probe.concurrency,
                     listed={o.key: o.listed for o in sample.objects if o.listed}),
        fetch_each(s.site, s.probe, targets, (*sample.objects, *canaries), on_result,
                   s.web_origin, follow_on(s, targets, sample.objects, total)),
        _unverified_tls(s, targets),
        canary.reference(s.origin, canaries, s.probe.timeout_s))
    canary_paths = {o.path for o in canaries}
    fetches = [f for f in fetched if f.path not in canary_paths]
    browser, types = await browser_checks(s, targets, sample.objects, fetches,
                                          origin.available, asked)
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
    # a failure the last run did not see is asked again before it counts (retest.py)
    inp, analysis = await confirm(s, targets, (*sample.objects, *canaries), inp, analysis,
                                  known)
    await _check_url_prefix(s, targets, inp, analysis)
    return build(s, inp, analysis, started_at, time.monotonic() - t0,
                 {"kind": scope.kind, "name": scope.name})


async def _views(settings: Settings, scope: Scope) -> tuple[ViewAnswer, ...]:
    """The GeoDNS views' answers, for the whole fleet only (an address of an unprobed node is
    not "unlisted"); dnspython is imported only for a run that asks."""
    if scope.partial or not settings.views:
        return ()
    from edgeprobe.observe.geodns import ask_views

    return await ask_views(settings.dns, settings.site.media_host, settings.views)


async def _unverified_tls(settings: Settings,
                          targets: Sequence[Target]) -> dict[str, str | None] | None:
    """With verify_tls = false, what verification would have said per node (first
    address); None when verification is on."""
    from edgeprobe.observe.trust import tls_verification

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
