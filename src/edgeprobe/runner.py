"""The pipeline: config → resolve → sample → origin ∥ fetch → analyze → run-result dict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from edgeprobe.analyze import AnalysisInput, analyze
from edgeprobe.analyze.types import NodeInfo
from edgeprobe.errors import ProbeError
from edgeprobe.model import FetchResult
from edgeprobe.settings import Settings

ProgressFn = Callable[[int, int, FetchResult | None], None]


def select(settings: Settings, node: str | None = None, region: str | None = None) -> Settings:
    """Narrow the fleet to one node or one region (a ProbeError names what exists)."""
    if node is not None:
        chosen = tuple(n for n in settings.nodes if n.name == node)
        if not chosen:
            names = ", ".join(n.name for n in settings.nodes)
            raise ProbeError(f"no node named {node!r} in {settings.source} (nodes: {names})")
        return replace(settings, nodes=chosen)
    if region is not None:
        chosen = tuple(n for n in settings.nodes if n.region == region)
        if not chosen:
            regions = ", ".join(settings.regions())
            raise ProbeError(f"no region named {region!r} in {settings.source} "
                             f"(regions: {regions})")
        return replace(settings, nodes=chosen)
    return settings


def scope(node: str | None = None, region: str | None = None) -> dict[str, Any]:
    """The ``scope``/``scope_name`` arguments of probe() for `probe all|node|region`."""
    return {"scope": "node" if node else "region" if region else "all",
            "scope_name": node or region}


async def probe_async(settings: Settings, *, scope: str = "all", scope_name: str | None = None,
                      progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run every stage and return the run result. Remote failures are findings, never raised."""
    from edgeprobe.fetch import fetch_all
    from edgeprobe.origin import check_origin
    from edgeprobe.resolve import resolve_all
    from edgeprobe.result import build
    from edgeprobe.sample import build_sample

    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    resolutions, sample = await asyncio.gather(resolve_all(settings.dns, settings.nodes),
                                               build_sample(settings))
    if not sample.objects:
        notes = "; ".join(n.summary for n in sample.notes)
        raise ProbeError("nothing to probe: no sample paths, and no object found through "
                         "[samples] bucket_prefixes or mastodon_api" + (f" ({notes})" if notes
                                                                        else ""))
    total = len(sample.objects) * sum(1 for r in resolutions if r.addresses)
    done = 0
    if progress:
        progress(0, total, None)

    def on_result(result: FetchResult) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, result)

    origin, fetches, unverified = await asyncio.gather(
        check_origin(settings.origin, [o.key for o in sample.objects], settings.probe.timeout_s,
                     settings.probe.concurrency),
        fetch_all(settings, resolutions, sample.objects, on_result),
        _unverified_tls(settings, resolutions))
    inp = AnalysisInput(
        site_name=settings.site.name, media_host=settings.site.media_host,
        nodes=tuple(NodeInfo(n.name, n.region) for n in settings.nodes),
        resolutions=tuple(resolutions), objects=sample.objects, origin=origin,
        fetches=tuple(fetches), slow_ms=settings.probe.slow_ms,
        timeout_s=settings.probe.timeout_s, max_body_bytes=settings.probe.max_body_bytes,
        scope=scope, notes=sample.notes, tls_unverified=unverified)
    analysis = analyze(inp)
    await _check_url_prefix(settings, resolutions, inp, analysis)
    return build(settings, inp, analysis, started_at, time.monotonic() - t0,
                 {"kind": scope, "name": scope_name})


async def _unverified_tls(settings: Settings, resolutions: Any) -> dict[str, str | None] | None:
    """With verify_tls = false, what verification would have said per node (first
    address); None when verification is on."""
    from edgeprobe.fetch import tls_verification

    site = settings.site
    if site.verify_tls or site.scheme != "https":
        return None
    nodes = {n.name: n for n in settings.nodes}
    checked = [r for r in resolutions if r.addresses]
    said = await asyncio.gather(*(tls_verification(
        site, r.addresses[0], settings.node_port(nodes[r.node]), settings.probe.timeout_s)
        for r in checked))
    return {r.node: message for r, message in zip(checked, said, strict=True)}


async def _check_url_prefix(settings: Settings, resolutions: Any, inp: AnalysisInput,
                            analysis: Any) -> None:
    """Every node answering 404 for every object the bucket has is most often a wrong
    [origin] url_prefix, not a fleet-wide outage: one request for a known key under the
    other usual prefix tells, and a ProbeError then names both (no false alarm)."""
    from edgeprobe.fetch import fetch_all
    from edgeprobe.model import SampleObject
    from edgeprobe.sample import key_to_path

    fleet = next((f for f in analysis.findings if f.kind == "fleet_wide_failure"), None)
    if fleet is None or set(fleet.evidence.get("verdicts", {})) != {"missing"}:
        return
    known = [o for o in inp.objects if analysis.references[o.path].source == "bucket"
             and analysis.references[o.path].exists]
    node = next((r for r in resolutions if r.addresses), None)
    if not known or node is None:
        return
    prefix = settings.origin.url_prefix
    obj, ref = known[0], analysis.references[known[0].path]
    for other in ("/",) if prefix != "/" else ("/system/",):
        trial = SampleObject(key_to_path(obj.key, other), obj.key, "paths")
        (result,) = await fetch_all(settings, [node], [trial])
        if result.status_code == 200 and result.size == ref.size:
            raise ProbeError(
                f"every node answers 404 under [origin] url_prefix {prefix!r}, but "
                f"{node.node} serves the bucket's objects under {other!r} (200 and the "
                f"bucket's {ref.size} bytes for {trial.path}): set url_prefix = {other!r} in "
                f"{settings.source}")


def probe(settings: Settings, **kwargs: Any) -> dict[str, Any]:
    """Blocking wrapper for callers without an event loop (the CLI)."""
    return asyncio.run(probe_async(settings, **kwargs))
