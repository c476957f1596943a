"""Stage 3: what the bucket holds for each sampled key (exists, size, ETag), via boto3.

boto3 is blocking, so calls run in a small thread pool off the event loop. Credentials come
only from the standard boto3 chain; nothing secret is ever put into an error message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from edgeprobe.errors import OriginError
from edgeprobe.model import OriginObject, OriginReport
from edgeprobe.settings import OriginSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # type: ignore[import-not-found]
else:
    S3Client = Any

MAX_THREADS = 16


def make_client(settings: OriginSettings, timeout_s: float) -> S3Client:
    """An S3 client for the configured endpoint; unsigned when ``anonymous``."""
    import boto3  # heavy: imported only when a probe runs
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(
        signature_version=UNSIGNED if settings.anonymous else None,
        connect_timeout=timeout_s, read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=MAX_THREADS,
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config,
        verify=settings.ca_file)


def map_error(exc: Exception, bucket: str) -> OriginError:
    """botocore's exceptions → OriginError with a stable kind and a secret-free message."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return OriginError("no_credentials", "no S3 credentials in the standard boto3 chain "
                           "(environment, profile, role); set them, or anonymous = true for a "
                           "public bucket")
    if isinstance(exc, EndpointConnectionError | BotoConnectionError):
        return OriginError("unreachable", f"cannot reach the S3 endpoint: {type(exc).__name__}")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket",) or (code == "404" and status == 404):
            return OriginError("no_such_bucket", f"bucket {bucket!r} does not exist (404)")
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            return OriginError("access_denied", f"access to bucket {bucket!r} denied (403)")
        return OriginError("error", f"bucket {bucket!r}: {code or status} "
                           f"{err.get('Message', '')}".strip())
    return OriginError("error", f"bucket {bucket!r}: {type(exc).__name__}")


def _head_bucket(client: S3Client, bucket: str) -> None:
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as exc:
        raise map_error(exc, bucket) from exc


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
    return OriginObject(key, exists=True, size=head.get("ContentLength"), etag=head.get("ETag"))


async def check_origin(settings: OriginSettings, keys: Iterable[str], timeout_s: float,
                       concurrency: int = MAX_THREADS) -> OriginReport:
    """HEAD the bucket, then every key; never raises: an unusable bucket is a report."""
    keys = list(dict.fromkeys(keys))
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, MAX_THREADS)),
                            thread_name_prefix="edgeprobe-s3") as pool:
        try:
            client = await loop.run_in_executor(pool, make_client, settings, timeout_s)
            await loop.run_in_executor(pool, _head_bucket, client, settings.bucket)
        except OriginError as exc:
            return OriginReport(settings.bucket, available=False, error_kind=exc.kind,
                                error=str(exc))
        except Exception as exc:  # botocore config errors (bad region name…)
            err = map_error(exc, settings.bucket)
            return OriginReport(settings.bucket, available=False, error_kind=err.kind,
                                error=str(err))
        heads = await asyncio.gather(*(loop.run_in_executor(pool, _head_object, client,
                                                            settings.bucket, k) for k in keys))
    objects = {o.key: o for o in heads}
    if keys and all(o.exists is None for o in heads):  # e.g. every key 403: cannot tell anything
        return OriginReport(settings.bucket, available=False, error_kind="access_denied",
                            error=heads[0].error, objects=objects)
    return OriginReport(settings.bucket, available=True, objects=objects)
