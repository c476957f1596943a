"""Stage 2: which objects to fetch from every node.

Explicit ``paths`` first, then keys sampled from a bucket listing per prefix (deterministic
for a given seed), then media found through Mastodon's public API; at most ``max``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from edgeprobe.model import Note, Sample, SampleObject
from edgeprobe.origin import make_client, map_error
from edgeprobe.settings import Settings

PLACEHOLDER = "/avatars/original/missing.png"  # served by the app, never by the bucket

# Public, token-free endpoints that reveal media URLs (DOMAIN.md).
API_ENDPOINTS = (
    "/api/v1/timelines/public?local=true&only_media=true&limit=40",
    "/api/v1/directory?local=true&order=new&limit=80",
    "/api/v1/custom_emojis",
    "/api/v2/instance",
)
_URL_FIELDS = ("url", "preview_url", "avatar", "avatar_static", "header", "header_static",
               "static_url", "image")


def key_to_path(key: str, url_prefix: str) -> str:
    return url_prefix + quote(key, safe="/@")


def path_to_key(path: str, url_prefix: str) -> str:
    return unquote(path[len(url_prefix):])


def sample_from_listing(keys: Iterable[str], per_prefix: int, seed: int, prefix: str) -> list[str]:
    """A stable random choice: the same listing and seed always give the same keys."""
    usable = sorted(k for k in keys if not k.endswith("/") and not k.endswith(PLACEHOLDER[1:]))
    rng = random.Random(f"{seed}:{prefix}")
    return sorted(rng.sample(usable, min(per_prefix, len(usable))))


def _list_prefix(client: Any, settings: Settings, prefix: str) -> list[str]:
    keys: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.origin.bucket, Prefix=prefix,
                                   PaginationConfig={"MaxItems": settings.samples.list_limit}):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def media_urls(document: Any) -> list[str]:
    """Every media URL field in a Mastodon API answer, in document order."""
    found: list[str] = []
    if isinstance(document, list):
        for item in document:
            found.extend(media_urls(item))
    elif isinstance(document, dict):
        for key, value in document.items():
            if key in _URL_FIELDS and isinstance(value, str) and value.startswith("http"):
                found.append(value)
            elif isinstance(value, dict | list):
                found.extend(media_urls(value))
    return found


async def discover_api(settings: Settings) -> tuple[list[str], list[Note]]:
    """Media paths on the media host from the public API. 401/422/404/empty: not available."""
    import aiohttp

    api = settings.samples.mastodon_api or ""
    host = settings.site.media_host
    prefix = settings.origin.url_prefix
    paths: list[str] = []
    refused: list[str] = []
    timeout = aiohttp.ClientTimeout(total=settings.probe.timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for endpoint in API_ENDPOINTS:
            try:
                async with session.get(api + endpoint, allow_redirects=False) as resp:
                    if resp.status != 200:
                        refused.append(f"{endpoint.split('?')[0]}: HTTP {resp.status}")
                        continue
                    document = await resp.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                refused.append(f"{endpoint.split('?')[0]}: {type(exc).__name__}")
                continue
            for url in media_urls(document):
                parts = urlsplit(url)
                if parts.hostname == host and parts.path.startswith(prefix) \
                        and not parts.path.endswith(PLACEHOLDER):
                    # re-quoted: a path is sent as edgeprobe quotes it, whatever the API said
                    paths.append(key_to_path(path_to_key(parts.path, prefix), prefix))
    notes = []
    if not paths:
        notes.append(Note("samples_unavailable", api, "Mastodon API discovery found no media "
                          "(anonymous API access off, timeline preview disabled, or an empty feed)",
                          {"api": api, "answers": refused}))
    return list(dict.fromkeys(paths)), notes


async def build_sample(settings: Settings) -> Sample:
    """Never raises for a remote failure: a listing or API that fails becomes a Note."""
    s = settings.samples
    prefix = settings.origin.url_prefix
    objects = [SampleObject(p, path_to_key(p, prefix), "paths") for p in s.paths]
    notes: list[Note] = []
    client = None
    for bucket_prefix in s.bucket_prefixes:
        try:
            if client is None:
                client = await asyncio.to_thread(make_client, settings.origin,
                                                 settings.probe.timeout_s)
            listed = await asyncio.to_thread(_list_prefix, client, settings, bucket_prefix)
        except Exception as exc:
            err = map_error(exc, settings.origin.bucket)
            notes.append(Note("samples_unavailable", bucket_prefix,
                              f"cannot list bucket prefix {bucket_prefix!r}: {err}",
                              {"prefix": bucket_prefix, "error_kind": err.kind}))
            continue
        for key in sample_from_listing(listed, s.per_prefix, s.seed, bucket_prefix):
            objects.append(SampleObject(key_to_path(key, prefix), key, "bucket"))
    if s.mastodon_api:
        found, api_notes = await discover_api(settings)
        notes.extend(api_notes)
        objects.extend(SampleObject(p, path_to_key(p, prefix), "api") for p in found)
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
