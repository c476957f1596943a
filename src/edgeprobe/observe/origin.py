"""Stage 3: what the bucket holds for each sampled key (exists, size, ETag).

The bucket's HEAD and each key's go through libcurl with URLs botocore signed (signer.py,
bucket_heads.py: a boto3 call costs ~3 ms of CPU, and 200 of them took the GIL from the
fetch; the client itself ~14 MB), and through boto3 for an answer only it reads, or where
only its client knows the bucket's URLs (no ``endpoint_url``). Every blocking call goes
through ``threads.call`` (a daemon thread, a total deadline; libcurl's HEADs each have
their own); at most MAX_THREADS are in flight. Nothing secret is ever put into an error
message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from edgeprobe.config.settings import OriginSettings
from edgeprobe.errors import OriginError
from edgeprobe.observe import bucket_heads, threads
from edgeprobe.observe.observations import OriginFacts, OriginObject
from edgeprobe.observe.s3 import S3Client, make_client, map_error
from edgeprobe.observe.signer import signer

MAX_THREADS = 16


def _head_bucket(client: S3Client, bucket: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as exc:
        raise map_error(exc, bucket) from exc


async def _check_bucket(settings: OriginSettings, timeout_s: float) -> None:
    """The bucket's HEAD: by libcurl where signer.py forms its URL, else (and for an answer
    only boto3 reads) by boto3. Raises OriginError, or what botocore raises."""
    lane = f"head_bucket {settings.endpoint_url} {settings.bucket}"
    bucket = await threads.call(signer, settings, deadline=timeout_s)
    if bucket is not None:
        answered: bool | None = await threads.call(
            bucket_heads.head_bucket, settings, bucket, timeout_s, deadline=timeout_s,
            lane=lane)
        if answered:
            return
    client = await threads.call(make_client, settings, timeout_s, deadline=timeout_s)
    await threads.call(_head_bucket, client, settings.bucket, deadline=timeout_s, lane=lane)


def _head_object(client: S3Client, bucket: str, key: str) -> OriginObject:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return OriginObject(key, exists=False)
        if status == 403:
            # S3 answers 403, not 404, for a missing key when the caller may not list the bucket.
            return OriginObject(key, exists=None, error="403 from the bucket: missing, or no "
                                "permission (without s3:ListBucket S3 says 403 for missing keys)")
        return OriginObject(key, exists=None, error=str(map_error(exc, bucket)))
    except Exception as exc:
        return OriginObject(key, exists=None, error=str(map_error(exc, bucket)))
    return OriginObject(key, exists=True, size=head.get("ContentLength"), etag=head.get("ETag"),
                        content_type=head.get("ContentType"))


async def check_origin(settings: OriginSettings, keys: Iterable[str], timeout_s: float,
                       concurrency: int = MAX_THREADS,
                       listed: Mapping[str, OriginObject] | None = None) -> OriginFacts:
    """HEAD the bucket, then every key the bucket's listing has not already described
    (``listed``: key → size and ETag from the listing the sample came from); never raises:
    an unusable bucket is a report. Each call has a total deadline of ``timeout_s`` (see
    threads.call), so a dripping endpoint costs one deadline per call, not forever."""
    known = dict(listed or {})
    keys = [k for k in dict.fromkeys(keys) if k not in known]
    try:
        await _check_bucket(settings, timeout_s)
    except OriginError as exc:
        return OriginFacts(settings.bucket, available=False, error_kind=exc.kind,
                            error=str(exc))
    except Exception as exc:  # no credentials, botocore config errors (bad region…), deadlines
        err = map_error(exc, settings.bucket)
        return OriginFacts(settings.bucket, available=False, error_kind=err.kind,
                            error=str(err))
    heads = await _describe(settings, keys, timeout_s, max(1, min(concurrency, MAX_THREADS)))
    objects = {**known, **{o.key: o for o in heads}}
    if keys and not known and all(o.exists is None for o in heads):  # every key 403: no news
        return OriginFacts(settings.bucket, available=False, error_kind="access_denied"
                            if all("403" in (o.error or "") for o in heads) else "error",
                            error=heads[0].error, objects=objects)
    return OriginFacts(settings.bucket, available=True, objects=objects)


async def content_types(settings: OriginSettings, keys: Iterable[str],
                        timeout_s: float) -> dict[str, str | None]:
    """The stored ContentType of each key (a HEAD each, at most MAX_THREADS at once): asked
    only for the objects whose served types disagree (analyze/content.py), since a listing
    does not carry it. A key the bucket cannot describe maps to None."""
    found = await _describe(settings, list(dict.fromkeys(keys)), timeout_s, MAX_THREADS)
    return {o.key: o.content_type for o in found}


async def _describe(settings: OriginSettings, keys: Sequence[str], timeout_s: float,
                    parallel: int) -> list[OriginObject]:
    """Each key's HEAD, in order: presigned and sent by libcurl (bucket_heads), and through
    boto3 for the answers only it understands (a region redirect, an S3 error code)."""
    if not keys:
        return []
    try:
        urls = await threads.call(bucket_heads.presign, settings, keys, timeout_s,
                                  deadline=timeout_s)
        # no deadline of its own: libcurl ends every HEAD within timeout_s
        answers = await threads.call(bucket_heads.head_all, settings.bucket, keys, urls,
                                     timeout_s, bucket_heads.bucket_cainfo(settings), parallel,
                                     deadline=None)
    except Exception:  # presigning failed (no credentials…): boto3 says why, key by key
        answers = [None] * len(keys)
    limit = asyncio.Semaphore(parallel)

    async def head(key: str, answer: OriginObject | None) -> OriginObject:
        if answer is not None:
            return answer
        async with limit:
            try:
                client = await threads.call(make_client, settings, timeout_s,
                                            deadline=timeout_s)
                return await threads.call(_head_object, client, settings.bucket, key,
                                          deadline=timeout_s, lane=f"head_object {key}")
            except Exception as exc:  # the client could not be made, or a deadline
                return OriginObject(key, exists=None, error=str(map_error(exc, settings.bucket)))

    return list(await asyncio.gather(*(head(k, a) for k, a in zip(keys, answers, strict=True))))
