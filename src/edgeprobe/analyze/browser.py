"""Findings about each edge as a browser meets it: HTTP/2 and HTTP/3, CORS, Range.

The sampled GETs negotiate HTTP/2 by ALPN and carry the web UI's ``Origin``; the browser
checks (observe/followup.py) add, per address, one object over HTTP/1.1, one over HTTP/3
where the edge advertises it, and ``Range: bytes=0-1`` for a few video and audio objects.
Each judgement here compares an edge with itself (h2 against h1.1 on the same object), with
the bucket (the Range's bytes and total), or with its peers and the site (CORS).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

from edgeprobe.analyze.types import AnalysisInput, BrowserInfo, Check, Finding, Reference
from edgeprobe.observe.observations import HTTP1, HTTP2, HTTP3, RANGE, FetchResult
from edgeprobe.observe.repro import shown
from edgeprobe.vocabulary import CRITICAL, OK, WARNING

OK_WORD, BROKEN, NOT_OFFERED, NOT_TESTED = "ok", "broken", "not offered", "not tested"


class Answer(TypedDict):
    """One answer in a browser finding's evidence."""

    path: str
    address: str | None
    protocol: str | None
    status_code: int | None
    size: int | None
    error: str | None
    header: str | None  # the header the finding is about, as sent
    curl: str | None


def _answer(f: FetchResult, header: str | None = None) -> Answer:
    return Answer(path=f.path, address=f.address, protocol=f.protocol,
                  status_code=f.status_code, size=f.size, error=f.error,
                  header=f.headers.get(header) if header else None, curl=shown(f.curl))


def _served(f: FetchResult) -> bool:
    return f.status_code is not None and 200 <= f.status_code < 300 and not f.error_kind


def _same(a: FetchResult, b: FetchResult) -> bool:
    if a.status_code != b.status_code or bool(a.error_kind) != bool(b.error_kind):
        return False
    return not _served(a) or (a.size == b.size and a.md5 == b.md5)


def protocol_words(main: Sequence[FetchResult], extra: Sequence[FetchResult],
                   tested: Sequence[str]) -> dict[str, str]:
    """What the node's protocols came to: ok, broken, not offered, not tested."""
    words: dict[str, str] = {}
    spoke = {f.protocol for f in main if f.protocol}
    broken = any(_broken_h2(m, extra) for m in main)
    words["h2"] = NOT_TESTED if "h2" not in tested else BROKEN if broken else \
        OK_WORD if "h2" in spoke else NOT_OFFERED
    h3 = [f for f in extra if f.variant == HTTP3]
    words["h3"] = NOT_TESTED if "h3" not in tested else (
        NOT_OFFERED if not h3 else BROKEN if any(not _served(f) for f in h3) else OK_WORD)
    return words


def _broken_h2(main: FetchResult, extra: Sequence[FetchResult]) -> bool:
    twin = next((f for f in extra if f.variant == HTTP1 and f.path == main.path), None)
    again = next((f for f in extra if f.variant == HTTP2 and f.path == main.path), None)
    return twin is not None and again is not None and main.protocol != "http/1.1" and \
        _same(main, again) and not _same(main, twin)


def protocol_findings(node: str, main: Sequence[FetchResult], extra: Sequence[FetchResult],
                      refs: Mapping[str, Reference]) -> list[Finding]:
    """node_http2_broken: the same object, its h2 answer unlike its HTTP/1.1 answer
    (critical when h2 fails and HTTP/1.1 serves the bucket's bytes); node_http3_broken:
    advertised, and failing (browsers fall back: slower, not broken)."""
    out = []
    for f1 in (f for f in extra if f.variant == HTTP1):
        m = next((f for f in main if f.path == f1.path), None)
        again = next((f for f in extra if f.variant == HTTP2 and f.path == f1.path), None)
        # h2 must say the same twice (a blip is not a protocol) and differ from HTTP/1.1
        if m is None or again is None or m.protocol == "http/1.1" or _same(m, f1) or \
                not _same(m, again):
            continue
        ref = refs.get(f1.path)
        right = _served(f1) and (ref is None or ref.md5 is None or f1.md5 == ref.md5)
        severity = CRITICAL if right and not _served(m) else WARNING
        said = m.error or f"{m.status_code}" + (f", {m.size} bytes" if _served(m) else "")
        out.append(Finding(
            "node_http2_broken", "node", node, severity,
            f"{node} answers {f1.path} over HTTP/2 with {said} and over HTTP/1.1 with "
            f"{f1.status_code}" + (f", {f1.size} bytes" if _served(f1) else "")
            + ": browsers speak HTTP/2 to it", {"h2": _answer(m), "http/1.1": _answer(f1)}))
        break
    for f3 in (f for f in extra if f.variant == HTTP3 and not _served(f)):
        advert = next((m.headers.get("Alt-Svc") for m in main if m.headers.get("Alt-Svc")), "")
        out.append(Finding(
            "node_http3_broken", "node", node, WARNING,
            f"{node} advertises HTTP/3 (Alt-Svc: {advert}) but HTTP/3 fails "
            f"({f3.error or f3.status_code}): browsers try it, wait, and fall back",
            {"alt_svc": advert, "h3": _answer(f3)}))
        break
    return out


def cors_ok(value: str | None, origin: str | None) -> bool:
    return value is not None and value.strip() in ("*", *((origin,) if origin else ()))


def cors_findings(main_by_node: Mapping[str, Sequence[FetchResult]], origin: str | None,
                  cross_origin: bool, whole_fleet: bool) -> tuple[list[Finding], set[str]]:
    """node_cors_missing for each node whose media answers lack a usable
    Access-Control-Allow-Origin (``*`` or the web UI's origin) while its peers send one or
    the site loads media cross-origin; when no node sends it on a cross-origin site, one
    fleet_cors_missing. Returns the findings and the nodes judged missing."""
    lacking: dict[str, list[FetchResult]] = {}
    judged = set()
    for node, fetches in main_by_node.items():
        served = [f for f in fetches if f.status_code == 200]
        if not served:
            continue
        judged.add(node)
        bad = [f for f in served if not cors_ok(f.headers.get("Access-Control-Allow-Origin"),
                                                 origin)]
        if bad:
            lacking[node] = bad
    if not lacking:
        return [], set()
    sending = judged - set(lacking)
    if not sending and not cross_origin:
        return [], set()
    want = f"'*' or {origin}" if origin else "'*'"
    if not sending and whole_fleet and len(lacking) > 1:
        first = next(iter(lacking.values()))[0]
        return [Finding(
            "fleet_cors_missing", "fleet", "fleet", CRITICAL,
            f"no node ({len(lacking)}) sends Access-Control-Allow-Origin ({want}) with the "
            "media: the web UI loads them cross-origin, so browsers refuse them — shared "
            "configuration (Mastodon's proxy block adds it: add_header "
            "'Access-Control-Allow-Origin' '*')",
            {"nodes": sorted(lacking), "origin": origin, "example": _answer(
                first, "Access-Control-Allow-Origin")})], set(lacking)
    out = []
    for node, bad in lacking.items():
        answered = len([f for f in main_by_node[node] if f.status_code == 200])
        out.append(Finding(
            "node_cors_missing", "node", node, CRITICAL,
            f"{node} sends no usable Access-Control-Allow-Origin ({want}) for {len(bad)} of "
            f"{answered} media answers" + (f" while {len(sending)} peers do" if sending else "")
            + ": the web UI's images and videos break in browsers",
            {"answers": answered, "lacking": len(bad), "origin": origin,
             "peers_sending": sorted(sending),
             "examples": [_answer(f, "Access-Control-Allow-Origin") for f in bad[:3]]}))
    return out, set(lacking)


def range_findings(node: str, extra: Sequence[FetchResult], refs: Mapping[str, Reference],
                   heads: Mapping[str, bytes],
                   right: set[str]) -> tuple[list[Finding], bool | None]:
    """node_range_broken: ``Range: bytes=0-1`` for a video or audio object must get 206,
    ``Content-Range: bytes 0-1/<the bucket's size>`` and the object's first two bytes
    (``heads``: path → first bytes of a right answer). Only objects the node served right
    (``right``) and range-shaped answers are judged: wrong bytes and errors have their own
    findings. Returns the findings and whether the node's ranges worked (None: not
    tested)."""
    asked = [f for f in extra if f.variant == RANGE and f.path in right]
    if not asked:
        return [], None
    wrong: list[tuple[FetchResult, str]] = []
    asked = [f for f in asked if f.status_code in (200, 206, 416)]  # errors: other findings
    if not asked:
        return [], None
    for f in asked:
        ref = refs.get(f.path)
        size = ref.size if ref is not None else None
        want = f"bytes 0-1/{size}" if size is not None else None
        got = f.headers.get("Content-Range")
        if f.status_code != 206:
            why = (f.error or f"{f.status_code}") + (
                f" with the whole object ({f.size} bytes)" if f.status_code == 200 else "")
        elif want is not None and (got or "").replace(" ", "") != want.replace(" ", ""):
            why = f"206 with Content-Range {got!r}, not {want!r}"
        elif f.path in heads and f.first_bytes[:2] != heads[f.path][:2]:
            why = "206 with other bytes than the object's first two"
        else:
            continue
        wrong.append((f, why))
    if not wrong:
        return [], True
    f, why = wrong[0]
    return [Finding(
        "node_range_broken", "node", node, CRITICAL,
        f"{node} answers Range: bytes=0-1 for {len(wrong)} of {len(asked)} video/audio "
        f"objects with {why}: Safari and iOS play media only through ranges",
        {"asked": len(asked), "wrong": len(wrong),
         "examples": [{**_answer(g, "Content-Range"), "why": w} for g, w in wrong[:3]]})], False


def right_heads(checks: Sequence[Check]) -> dict[str, bytes]:
    """Each object's first bytes, from an answer whose bytes are the bucket's."""
    out: dict[str, bytes] = {}
    for c in checks:
        if c.verdict == OK and c.fetch.first_bytes:
            out.setdefault(c.fetch.path, c.fetch.first_bytes)
    return out


def browser_pass(inp: AnalysisInput, checks_by_node: Mapping[str, Sequence[Check]],
                 refs: Mapping[str, Reference]) -> tuple[list[Finding], dict[str, BrowserInfo]]:
    """Every browser judgement of the run, and each node's BrowserInfo."""
    extra: dict[str, list[FetchResult]] = {}
    for f in inp.browser:
        extra.setdefault(f.node, []).append(f)
    main = {n: [c.fetch for c in cs] for n, cs in checks_by_node.items()}
    # CORS over the answers that carried the bucket's bytes: a wrong page is its own finding
    right = {n: [c.fetch for c in cs if c.verdict == OK] for n, cs in checks_by_node.items()}
    cors, missing = cors_findings(right, inp.web_origin, inp.cross_origin, inp.scope == "all")
    heads = right_heads([c for cs in checks_by_node.values() for c in cs])
    findings: list[Finding] = []
    info: dict[str, BrowserInfo] = {}
    for node, fetches in main.items():
        mine = extra.get(node, [])
        found, ranges = range_findings(node, mine, refs, heads,
                                       {f.path for f in right[node]})
        findings += protocol_findings(node, fetches, mine, refs) + found
        info[node] = BrowserInfo(
            protocols=protocol_words(fetches, mine, inp.protocols_tested),
            cors="missing" if node in missing else "ok" if right[node] else "not judged",
            range=NOT_TESTED if ranges is None else OK_WORD if ranges else BROKEN)
    return findings + cors, info
