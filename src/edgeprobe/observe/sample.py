"""Stage 2: which objects to fetch from every node.

Explicit ``paths`` first, then media found through Mastodon's public API (timelines first:
the newest media, the ones no cache holds yet), then keys from each bucket prefix spread
over its whole key range, newest included (listing.py; deterministic for a given seed);
at most ``max``.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from urllib.parse import urlsplit

from edgeprobe.config.settings import OriginSettings, SampleSettings
from edgeprobe.errors import ProbeError
from edgeprobe.mastodon import API_ENDPOINTS, MEDIA_CLASSES, PLACEHOLDER, key_to_path, path_to_key
from edgeprobe.observe.bounded import read_capped
from edgeprobe.observe.listing import spread_sample
from edgeprobe.observe.observations import Note, Sample, SampleObject
from edgeprobe.observe.s3 import map_error
from edgeprobe.observe.sanitize import clean

MAX_ANSWER = 4 * 1024 * 1024  # bytes read of one API answer
MAX_DECODED = 16 * 1024 * 1024  # bytes it may decode to (a gzip bomb stops here)
MAX_DEPTH = 64  # JSON nesting walked for media URLs
_URL_FIELDS = ("url", "preview_url", "avatar", "avatar_static", "header", "header_static",
               "static_url", "image")


def media_urls(document: Any) -> list[str]:
    """Every media URL field in a Mastodon API answer, in document order; walked without
    recursion and no deeper than MAX_DEPTH (an answer is untrusted)."""
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        children: list[Any] = []
        if isinstance(node, list):
            children = node
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _URL_FIELDS and isinstance(value, str) and value.startswith("http"):
                    found.append(value)
                elif isinstance(value, dict | list):
                    children.append(value)
        stack.extend((child, depth + 1) for child in reversed(children))
    return found


def decode_answer(raw: bytes, encoding: str) -> Any:
    """JSON from a (possibly gzip/deflate-encoded) answer, decoded to at most MAX_DECODED
    bytes; a ValueError for anything too big, too deep or not JSON."""
    if encoding in ("gzip", "deflate", "x-gzip"):
        inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
        raw = inflater.decompress(raw, MAX_DECODED + 1)
        if len(raw) > MAX_DECODED or inflater.unconsumed_tail:
            raise ValueError(f"decodes to over {MAX_DECODED // (1024 * 1024)} MiB")
    elif encoding not in ("", "identity"):
        raise ValueError(f"unknown Content-Encoding {encoding!r}")
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


async def _fetch_json(session: Any, url: str) -> Any:
    """One API answer; raises ValueError (too big, bad JSON) or aiohttp/timeout errors."""
    async with session.get(url, allow_redirects=False) as resp:
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        raw = await read_capped(resp, MAX_ANSWER)
        if raw is None:
            raise ValueError(f"answer over {MAX_ANSWER // (1024 * 1024)} MiB")
        return decode_answer(raw, resp.headers.get("Content-Encoding", "").strip().lower())


def prefix_of(path: str) -> str | None:
    """The URL prefix in front of a Mastodon media key ('/system/' in
    '/system/accounts/avatars/…', '/' on S3_ALIAS_HOST sites), or None."""
    for cls in MEDIA_CLASSES:
        at = path.find(f"/{cls}/")
        if at >= 0:
            return path[: at + 1]
    return None


async def discover_api(api: str, media_host: str, prefix: str,
                       timeout_s: float) -> tuple[list[str], list[Note]]:
    """Media paths on the media host from the public API. 401/422/404/empty: not available.
    Media URLs on the media host under another prefix than ``prefix`` are a ProbeError
    naming both (probing them under the wrong prefix would blame every edge)."""
    import aiohttp

    paths: list[str] = []
    elsewhere: list[str] = []
    refused: list[str] = []
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False,
                                     headers={"Accept-Encoding": "gzip, deflate"}) as session:
        for endpoint in API_ENDPOINTS:
            try:
                document = await _fetch_json(session, api + endpoint)
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                why = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
                refused.append(f"{endpoint.split('?')[0]}: {why}")
                continue
            for url in media_urls(document):
                parts = urlsplit(url)
                if parts.hostname != media_host or parts.path.endswith(PLACEHOLDER):
                    continue
                if parts.path.startswith(prefix):
                    # re-quoted: a path is sent as edgeprobe quotes it, whatever the API said
                    paths.append(key_to_path(path_to_key(parts.path, prefix), prefix))
                else:
                    elsewhere.append(parts.path)
    seen = {p for p in map(prefix_of, elsewhere) if p}
    if not paths and seen:
        raise ProbeError(f"the site's media URLs (from {api}) are under "
                         f"{', '.join(repr(p) for p in sorted(seen))}, not under [origin] "
                         f"url_prefix {prefix!r}: set url_prefix = {sorted(seen)[0]!r}")
    notes = []
    if not paths:
        notes.append(Note("samples_unavailable", api, "Mastodon API discovery found no media "
                          "(anonymous API access off, timeline preview disabled, or an empty feed)",
                          {"api": api, "answers": [clean(a) for a in refused]}))
    return list(dict.fromkeys(paths)), notes


async def build_sample(samples: SampleSettings, origin: OriginSettings, media_host: str,
                       timeout_s: float) -> Sample:
    """Never raises for a remote failure: a listing or API that fails becomes a Note."""
    s = samples
    prefix = origin.url_prefix
    objects = [SampleObject(p, path_to_key(p, prefix), "paths", chosen="listed in [samples] paths")
               for p in s.paths]
    notes: list[Note] = []
    if s.mastodon_api:
        found, api_notes = await discover_api(s.mastodon_api, media_host, prefix, timeout_s)
        notes.extend(api_notes)
        objects.extend(SampleObject(p, path_to_key(p, prefix), "api",
                                    chosen=f"named by {s.mastodon_api}'s public API")
                       for p in found)
    for bucket_prefix in s.bucket_prefixes:
        try:
            listed = await spread_sample(origin, bucket_prefix, s.per_prefix,
                                         s.list_limit, s.seed, timeout_s)
        except Exception as exc:
            err = map_error(exc, origin.bucket)
            notes.append(Note("samples_unavailable", bucket_prefix,
                              f"cannot list bucket prefix {bucket_prefix!r}: {err}",
                              {"prefix": bucket_prefix, "error_kind": err.kind}))
            continue
        if listed.cut and len(listed.objects) < s.per_prefix:
            notes.append(Note("samples_short", bucket_prefix,
                              f"bucket prefix {bucket_prefix!r}: {len(listed.objects)} of "
                              f"{s.per_prefix} keys sampled; the walk stopped at its budget "
                              f"of {listed.budget} listings",
                              {"prefix": bucket_prefix, "found": len(listed.objects),
                               "wanted": s.per_prefix, "listings": listed.budget}))
        newest = max(listed.objects, default=None)
        objects.extend(SampleObject(key_to_path(key, prefix), key, "bucket", listed=found,
                                    chosen=f"bucket prefix {bucket_prefix!r}: " + (
                                        "the newest key" if key == newest
                                        else "spread over the key range"))
                       for key, found in listed.objects.items())
    unique: list[SampleObject] = []
    seen: set[str] = set()
    for obj in objects:  # the first occurrence of a path wins, in the order found
        if obj.path not in seen:
            seen.add(obj.path)
            unique.append(obj)
    if len(unique) > s.max:
        notes.append(Note("samples_truncated", "samples", f"{len(unique)} objects found; probing "
                          f"the first {s.max} ([samples].max)", {"found": len(unique)}))
    return Sample(tuple(unique[: s.max]), tuple(notes))
