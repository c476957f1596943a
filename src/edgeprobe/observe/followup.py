"""Stage 4b: the browser checks that follow the sampled GETs, planned from what they saw.

The sampled GETs already negotiate as a browser does (HTTP/2 by ALPN, ``Origin``). For each
target this asks, beside them: one object again over HTTP/2 and over HTTP/1.1 — the first
that failed (not by timing out), else the first served — so an edge that breaks only over
HTTP/2 shows it twice over HTTP/2 while HTTP/1.1 serves (when its GET was not HTTP/1.1
already); one object over HTTP/3 when the edge advertises it (``Alt-Svc: h3``); and
``Range: bytes=0-1`` for up to RANGE_OBJECTS of the video and audio objects it served
(Safari and iOS play media only through ranges). A few requests per address, none for a
protocol this libcurl cannot speak (the run says "not tested" instead).

A node's checks need only its own sampled GETs, so the engine that fetched them plans them
(``Planner``) as soon as the node's last GET is in, and asks them on the node's warm
connection while other nodes are still being fetched; ``browser_checks`` then plans the
whole fleet again (the plan is pure: the same answers give the same checks) and asks only
what no engine asked (a node of a worker process that died, say). As a stage of its own
after the fetch they cost a new connection per node and per protocol, a worker process's
start-up, and the fetch's tail again: 0.7 s of a 3.6 s run at 200 edges
(docs/performance.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from edgeprobe.config.settings import ProbeSettings, Settings, SiteSettings
from edgeprobe.mastodon import path_to_key
from edgeprobe.observe.observations import (
    HTTP1,
    HTTP2,
    HTTP3,
    MAIN,
    RANGE,
    FetchResult,
    Followup,
    SampleObject,
    Target,
)
from edgeprobe.observe.sniff import AUDIO, VIDEO, media_class, mime_of, sniff
from edgeprobe.observe.transfer import Transfer, request

RANGE_OBJECTS = 3  # video/audio objects per address asked with a Range
_PLAYED = {".mp4", ".m4v", ".mov", ".webm", ".mp3", ".ogg", ".oga", ".m4a", ".wav", ".flac",
           ".opus"}


def _ok(f: FetchResult) -> bool:
    return f.status_code is not None and 200 <= f.status_code < 300 and not f.error_kind


def played(f: FetchResult) -> bool:
    """A video or audio object: by its bytes, its type, or its file name."""
    kind = media_class(sniff(f.first_bytes)) or media_class(mime_of(f.headers.get("Content-Type")))
    if kind is not None:
        return kind in (VIDEO, AUDIO)
    return any(f.path.lower().endswith(ext) for ext in _PLAYED)


def advertises_h3(f: FetchResult) -> bool:
    return any(part.strip().startswith(("h3=", "h3-")) for part in
               f.headers.get("Alt-Svc", "").split(","))


def plan(targets: Sequence[Target], objects: Sequence[SampleObject],
         fetched: Sequence[FetchResult], https: bool, http2: bool,
         http3: bool) -> list[Followup]:
    """The browser checks for these targets, from their sampled GETs (``fetched``)."""
    by_path = {o.path: o for o in objects}
    by_node: dict[str, list[FetchResult]] = {}  # one pass: the fleet's answers are many
    for f in fetched:
        if f.variant == MAIN and f.path in by_path:
            by_node.setdefault(f.node, []).append(f)
    out: list[Followup] = []
    for target in targets:
        mine = by_node.get(target.node, [])
        if not mine or not https:
            continue
        # a failure tells most (an edge failing only over HTTP/2), but not one that timed
        # out: asking it twice more would add two deadlines to the run
        failed = [f for f in mine if not _ok(f) and f.error_kind != "timeout"]
        served = [f for f in mine if _ok(f)]
        parity = (failed or served or mine)[0]
        if http2 and parity.protocol != "http/1.1":
            out += [Followup(target, by_path[parity.path], HTTP2),
                    Followup(target, by_path[parity.path], HTTP1)]
        if http3 and served and any(advertises_h3(f) for f in mine):
            out.append(Followup(target, by_path[served[0].path], HTTP3))
        out += [Followup(target, by_path[f.path], RANGE)
                for f in [f for f in served if played(f)][:RANGE_OBJECTS]]
    return out


@dataclass(frozen=True)
class Planner:
    """``plan`` with this run's objects and protocols: for one node where its GETs were
    fetched (picklable: a worker process plans its nodes' checks itself), and for the whole
    fleet after the fetch."""

    objects: tuple[SampleObject, ...]
    https: bool
    http2: bool
    http3: bool

    def plan_all(self, targets: Sequence[Target],
                 fetched: Sequence[FetchResult]) -> list[Followup]:
        return plan(targets, self.objects, fetched, self.https, self.http2, self.http3)


@dataclass(frozen=True)
class FollowOn:
    """A node's browser checks as transfers, numbered after every sampled GET (``first``)
    in a block of PER_NODE per node, so they never take a GET's index: the engine.Then of a
    fetch with browser checks (fetch.fetch_each), picklable, so a worker process runs it for
    its own nodes — and light: unpickling it imports no more than the worker has."""

    planner: Planner
    site: SiteSettings
    probe: ProbeSettings
    origin: str | None
    nodes: tuple[str, ...]
    first: int

    PER_NODE = 3 + RANGE_OBJECTS  # a node's checks at most: HTTP/2, HTTP/1.1, HTTP/3, ranges

    def __call__(self, target: Target, fetched: list[FetchResult]) -> list[Transfer]:
        base = self.first + self.nodes.index(target.node) * self.PER_NODE
        followups = self.planner.plan_all([target], fetched)
        assert len(followups) <= self.PER_NODE
        return [request(self.site, self.probe, base + j, f.target, f.obj, self.origin,
                        f.variant) for j, f in enumerate(followups)]


def planner(s: Settings, objects: Sequence[SampleObject]) -> Planner:
    """The Planner of this run's browser checks (the same plan browser_checks makes)."""
    tested = protocols_tested()
    return Planner(tuple(objects), s.site.scheme == "https", "h2" in tested, "h3" in tested)


def follow_on(s: Settings, targets: Sequence[Target], objects: Sequence[SampleObject],
              gets: int) -> FollowOn:
    """What fetch.fetch_each runs after each node's GETs (``gets`` of them in all, canary
    keys included) to ask its browser checks (of the sampled ``objects``) at once."""
    return FollowOn(planner(s, objects), s.site, s.probe, s.web_origin,
                    tuple(t.node for t in targets), gets)


def protocols_tested() -> tuple[str, ...]:
    """The protocols beyond HTTP/1.1 this libcurl speaks (a run says "not tested" for the
    others, never passes them silently)."""
    from edgeprobe.observe.transfer import HAS_HTTP2, HAS_HTTP3

    return (*(("h2",) if HAS_HTTP2 else ()), *(("h3",) if HAS_HTTP3 else ()))


def disputed(fetches: Sequence[FetchResult], url_prefix: str) -> list[str]:
    """The keys whose bucket type is needed (asked before the analysis, which is pure): the
    nodes disagree on the type, or agree on a type whose kind (image, video, audio) the
    bytes contradict (the bytes most nodes served)."""
    by_path: dict[str, list[FetchResult]] = {}
    for f in fetches:
        if f.status_code == 200:
            by_path.setdefault(f.path, []).append(f)
    out = []
    for path, served_by in by_path.items():
        served = {mime_of(f.headers.get("Content-Type")) for f in served_by}
        common = Counter(f.md5 for f in served_by).most_common(1)[0][0]
        bytes_say = media_class(sniff(next(f.first_bytes for f in served_by
                                           if f.md5 == common)))
        if len(served) > 1 or (bytes_say and served and
                               {media_class(t) for t in served} != {bytes_say}):
            out.append(path_to_key(path, url_prefix))
    return out


async def browser_checks(s: Settings, targets: Sequence[Target],
                         objects: Sequence[SampleObject], fetches: Sequence[FetchResult],
                         bucket_available: bool, asked: Sequence[FetchResult] = ()
                         ) -> tuple[list[FetchResult], dict[str, str | None]]:
    """The browser checks that follow the sampled GETs, in plan order — those the fetch has
    already asked (``asked``, by a Planner) taken as they are, the rest asked now — and,
    beside them, the bucket's stored type of each object whose served types disagree
    (key → ContentType)."""
    import asyncio

    from edgeprobe.observe.fetch import fetch_followups
    from edgeprobe.observe.origin import content_types

    followups = planner(s, objects).plan_all(targets, fetches)
    have = {(f.node, f.path, f.variant): f for f in asked}
    missing = [f for f in followups if (f.target.node, f.obj.path, f.variant) not in have]
    wanted = disputed(fetches, s.origin.url_prefix) if bucket_available else []
    fetched, types = await asyncio.gather(
        fetch_followups(s.site, s.probe, missing, s.web_origin),
        content_types(s.origin, wanted, s.probe.timeout_s))
    have.update({(f.node, f.path, f.variant): f for f in fetched})
    return [have[(f.target.node, f.obj.path, f.variant)] for f in followups], types
