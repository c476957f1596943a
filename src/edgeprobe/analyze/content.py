"""Findings about what an edge says its bytes are, and about media the bucket has lost.

Content-Type: a browser renders an image only as an image type, and with
``X-Content-Type-Options: nosniff`` (which Mastodon's proxy block sets) it never guesses: an
avatar served as ``text/plain`` is a broken image. The truth is the bucket's stored type
(asked only for objects whose served types disagree: observe/followup.disputed) and the bytes'
signature (observe/sniff.py). Deleted: an object the bucket no longer has, still served by
some edges from their caches while others 404 it — moderated media that one region keeps
seeing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TypedDict

from edgeprobe.analyze.types import Check, Finding, Reference
from edgeprobe.mastodon import path_to_key
from edgeprobe.observe.observations import FetchResult
from edgeprobe.observe.repro import shown
from edgeprobe.observe.sniff import media_class, mime_of, sniff
from edgeprobe.vocabulary import CACHED, CRITICAL, GONE, OK, WARNING


def _types(checks: Sequence[Check]) -> dict[str, str | None]:
    """node → the Content-Type it served with the bucket's bytes (other bytes, a fallback
    page say, are their own finding)."""
    return {c.fetch.node: mime_of(c.fetch.headers.get("Content-Type")) for c in checks
            if c.verdict == OK}


def _sniffed(checks: Sequence[Check]) -> str | None:
    return next((t for c in checks if c.verdict == OK and (t := sniff(c.fetch.first_bytes))),
                None)


def content_type_findings(by_path: Mapping[str, Sequence[Check]],
                          bucket_types: Mapping[str, str | None],
                          url_prefix: str) -> list[Finding]:
    """node_content_type_wrong, one per node over its objects (critical when a type is not of
    the object's kind and nosniff is set), origin_content_type_wrong per object whose
    bucket type contradicts its bytes (no node blamed for serving what the bucket says)."""
    out: list[Finding] = []
    wrong: dict[str, list[Wrong]] = {}
    for path, checks in by_path.items():
        served = _types(checks)
        if not served:
            continue
        stored = mime_of(bucket_types.get(path_to_key(path, url_prefix)))
        bytes_type = _sniffed(checks)
        if stored and bytes_type and media_class(stored) != media_class(bytes_type):
            out.append(Finding(
                "origin_content_type_wrong", "object", path, WARNING,
                f"the bucket stores {path} as {stored} but its bytes are {bytes_type}: "
                "browsers get the bucket's type from every edge",
                {"stored": stored, "bytes": bytes_type}))
        common = Counter(served.values()).most_common()
        for node, got, peer_type in _with_peer_type(served):
            peers = len(served) > 1
            expected = stored or peer_type or (common[0][0] if len(common) == 1 else None)
            if expected is None or got == expected or (peers and got == peer_type) or \
                    (stored and got == stored):
                continue
            kind = media_class(bytes_type) or media_class(expected)
            fetch = next(c.fetch for c in checks if c.fetch.node == node)
            nosniff = "nosniff" in fetch.headers.get("X-Content-Type-Options", "").lower()
            wrong.setdefault(node, []).append(Wrong(
                path=path, served=got, expected=expected, stored=stored, bytes=bytes_type,
                peers=peer_type, nosniff=nosniff, unshown=bool(
                    kind and media_class(got) != kind and nosniff), curl=shown(fetch.curl)))
    for node, found in wrong.items():
        first = found[0]
        severity = CRITICAL if any(w["unshown"] for w in found) else WARNING
        out.append(Finding(
            "node_content_type_wrong", "node", node, severity,
            f"{node} serves {len(found)} object{'s' if len(found) != 1 else ''} with another "
            f"Content-Type than the bucket's and its peers' (e.g. {first['path']} as "
            f"{first['served'] or 'none'}, not {first['expected']})"
            + (": with nosniff, browsers will not show them" if severity == CRITICAL else ""),
            {"objects": len(found), "examples": found[:3]}))
    return out


def _with_peer_type(served: Mapping[str, str | None]) -> list[tuple[str, str | None,
                                                                     str | None]]:
    """(node, its type, the type most of its peers served) for every node: what
    ``Counter(peers' types).most_common(1)`` says — ties to the type a peer served first —
    from each type's positions, in O(nodes × types) rather than O(nodes²) per object
    (200 edges × 200 objects were 8 million steps)."""
    positions: dict[str | None, list[int]] = {}
    for i, t in enumerate(served.values()):
        positions.setdefault(t, []).append(i)
    out = []
    for i, (node, got) in enumerate(served.items()):
        best: tuple[tuple[int, int], str | None] | None = None
        for t, pos in positions.items():
            count = len(pos) - (t == got)
            if count == 0:
                continue
            first = pos[1] if t == got and pos[0] == i else pos[0]
            if best is None or (-count, first) < best[0]:
                best = ((-count, first), t)
        out.append((node, got, best[1] if best else None))
    return out


class Wrong(TypedDict):
    """One object served with a wrong type (node_content_type_wrong's examples)."""

    path: str
    served: str | None
    expected: str
    stored: str | None
    bytes: str | None
    peers: str | None
    nosniff: bool
    unshown: bool  # not of the object's kind, with nosniff: a browser shows nothing
    curl: str | None


def _lifetime(f: FetchResult) -> str | None:
    return f.headers.get("Cache-Control") or (f"Expires {f.headers['Expires']}"
                                              if f.headers.get("Expires") else None)


def deleted_findings(by_path: Mapping[str, Sequence[Check]],
                     refs: Mapping[str, Reference]) -> list[Finding]:
    """node_serves_deleted: the bucket no longer has the object, some nodes still serve it
    (from their caches) while others answer 404."""
    out: list[Finding] = []
    for path, checks in by_path.items():
        ref = refs.get(path)
        if ref is None or ref.exists is not False or ref.source != "bucket":
            continue
        serving = [c.fetch for c in checks if c.verdict == CACHED]
        gone = sorted(c.fetch.node for c in checks if c.verdict == GONE)
        if not serving or not gone:
            continue
        for f in serving:
            age = f.headers.get("Age")
            out.append(Finding(
                "node_serves_deleted", "node", f.node, WARNING,
                f"{f.node} still serves {path}, which the bucket no longer has (deleted, or "
                f"removed by moderation), while {len(gone)} peer{'s' if len(gone) != 1 else ''}"
                f" answer 404" + (f"; its cached copy is {age} s old" if age else "")
                + (f" and may be kept for {_lifetime(f)}" if _lifetime(f) else ""),
                {"path": path, "age_s": int(age) if age and age.isdigit() else None,
                 "cache_control": f.headers.get("Cache-Control"),
                 "expires": f.headers.get("Expires"), "peers_404": gone,
                 "curl": shown(f.curl)}))
    return out


