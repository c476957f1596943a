"""Stage 3b: the origin-path canary — keys that cannot exist, and what the bucket says of one.

A request for a missing key reaches the bucket every time, warm cache or not: Mastodon's
proxy caches only 200s (``proxy_cache_valid 200 48h``) and passes the bucket's own error
through (``proxy_intercept_errors off``). So each node's answer for a random key shows its
path to the bucket as it is now (analyze/canary.py reads it). The keys sit under
``[canary] prefix`` (``edgeprobe-canary/``) so operators can filter them from their logs;
``requests`` of them per node and address, each asked once, never retried.

The reference is the bucket's answer to the same anonymous GET an edge sends (the proxy
clears Authorization): 404 NoSuchKey, or 403 AccessDenied where anonymous callers may not
list. libcurl asks it (bucket_heads.py) where signer.py forms the bucket's URLs, boto3
otherwise or for an answer only it reads. It goes through ``threads.call`` with a total
deadline, like every bucket call.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from edgeprobe.config.settings import CanarySettings, OriginSettings
from edgeprobe.errors import OriginError
from edgeprobe.observe import bucket_heads, threads
from edgeprobe.observe.observations import CanaryReference, SampleObject
from edgeprobe.observe.s3 import make_client, map_error, s3_error_code
from edgeprobe.observe.signer import signer

SOURCE = "canary"  # SampleObject.source of a canary key


def canary_keys(settings: CanarySettings) -> list[str]:
    """``requests`` fresh keys: the prefix, 16 random hex digits, ``.png`` (shaped like a
    Mastodon file name, so an edge that routes by extension treats it as media)."""
    return [f"{settings.prefix}{secrets.token_hex(8)}.png" for _ in range(settings.requests)]


def _plain(answer: bucket_heads.Answer) -> CanaryReference | None:
    """The reference a plain answer gives (None: ask boto3)."""
    if answer.status == 200:
        return CanaryReference(200, None)
    code = s3_error_code(bytes(answer.body).decode("utf-8", "replace"))
    return CanaryReference(answer.status, code) if answer.status in (403, 404) and code else None


def _ask(origin: OriginSettings, key: str, timeout_s: float) -> CanaryReference:
    anonymous = replace(origin, anonymous=True)
    bucket = signer(anonymous)
    if bucket is not None:
        try:
            answer = bucket_heads.ask_one(origin, "GET", bucket.url("GET", key), timeout_s)
        except OriginError as exc:  # unreachable, or no answer in time
            return CanaryReference(error=str(exc))
        plain = _plain(answer) if answer is not None else None
        if plain is not None:
            return plain
    from botocore.exceptions import ClientError

    client = make_client(anonymous, timeout_s)
    try:
        client.get_object(Bucket=origin.bucket, Key=key)["Body"].close()
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return CanaryReference(status, str(exc.response.get("Error", {}).get("Code") or ""))
    except Exception as exc:
        return CanaryReference(error=str(map_error(exc, origin.bucket)))
    return CanaryReference(200, None)  # a random key exists: the bucket answers everything


def objects(settings: CanarySettings, url_prefix: str) -> tuple[SampleObject, ...]:
    """This run's canary keys as objects to fetch from every node (none when off)."""
    from edgeprobe.mastodon import key_to_path

    return tuple(SampleObject(key_to_path(k, url_prefix), k, SOURCE)
                 for k in canary_keys(settings))


async def reference(origin: OriginSettings, canaries: tuple[SampleObject, ...],
                    timeout_s: float) -> CanaryReference | None:
    """The bucket's answer for the first canary key (None when the canary is off). Never
    raises: an unreachable bucket leaves the reference unknown, and the nodes' answers are
    then read by their shape alone."""
    if not canaries:
        return None
    try:
        return await threads.call(_ask, origin, canaries[0].key, timeout_s, deadline=timeout_s,
                                  lane=f"canary reference {origin.endpoint_url} {origin.bucket}")
    except TimeoutError as exc:
        return CanaryReference(error=str(map_error(exc, origin.bucket)))
