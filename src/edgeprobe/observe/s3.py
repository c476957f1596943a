"""The S3 client and its error mapping (a table).

boto3 blocks, and its timeouts are per socket read: an endpoint that sends one byte every
half second never trips them. So every call goes through ``threads.call`` with a total
deadline. Credentials come only from the standard boto3 chain; no message ever carries a
secret.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import TYPE_CHECKING, Any

from edgeprobe.config.settings import OriginSettings
from edgeprobe.errors import OriginError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client as S3Client  # type: ignore[import-not-found,unused-ignore]
else:
    S3Client = Any

MAX_POOL = 16
UNREACHABLE = "cannot reach the S3 endpoint"
TIMED_OUT = "the S3 endpoint did not answer in time"
_CODE = re.compile(r"<Code>([A-Za-z0-9._-]{1,64})</Code>")


_making = threading.Lock()
_loaders: list[Any] = []  # botocore's data loader, shared by every client once made


def make_client(settings: OriginSettings, timeout_s: float) -> S3Client:
    """An S3 client for the configured endpoint; unsigned when ``anonymous``. One per
    settings for the process's life (boto3 clients are thread-safe): a client costs ~14 MB
    and ~0.3 s of CPU, and ``serve`` must not make new ones every run. The bucket check and
    the canary ask for theirs at once, in two threads: the lock makes the second wait for
    the first's client instead of making its own. Every client's session shares one data
    loader, which parses botocore's models once: the canary's anonymous client beside a
    signed one cost another ~15 MB with a loader of its own. (Sessions stay one per
    client: each resolves its credentials from the chain as it is then.)"""
    with _making:
        return _make_client(settings, timeout_s)


@functools.lru_cache(maxsize=8)
def _make_client(settings: OriginSettings, timeout_s: float) -> S3Client:
    # botocore's session, not boto3's (which wraps it): the same client, credentials chain
    # and configuration, without boto3's resource and transfer layers (~0.3 s to import)
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(
        # SigV4 for presigned URLs too, as signer.py signs them (why: its docstring)
        signature_version=UNSIGNED if settings.anonymous else "s3v4",
        connect_timeout=timeout_s, read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=MAX_POOL,
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
    )
    session = botocore.session.get_session()
    if _loaders:
        session.register_component("data_loader", _loaders[0])
    else:
        _loaders.append(session.get_component("data_loader"))
    return session.create_client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config,
        verify=settings.ca_file)


@functools.cache
def _error_table() -> dict[type[BaseException], tuple[str, str]]:
    """botocore exception class → (kind, message), looked up along the MRO (see map_error)."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import (
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    no_credentials = ("no S3 credentials in the standard boto3 chain (environment, profile, "
                      "role); set them, or anonymous = true for a public bucket")
    unreachable = ("unreachable", UNREACHABLE)
    return {NoCredentialsError: ("no_credentials", no_credentials),
            PartialCredentialsError: ("no_credentials", no_credentials),
            ReadTimeoutError: ("timeout", "the S3 endpoint timed out"),
            EndpointConnectionError: unreachable, BotoConnectionError: unreachable,
            TimeoutError: ("timeout", TIMED_OUT)}


_CODES = {"NoSuchBucket": "no_such_bucket", "AccessDenied": "access_denied",
          "403": "access_denied", "Forbidden": "access_denied",
          "AllAccessDisabled": "access_denied"}


def s3_error_code(body: str | None) -> str | None:
    """The ``<Code>`` of an S3 XML error body (its first bytes), or None for anything else."""
    if not body:
        return None
    head = body.lstrip()[:64]
    if not (head.startswith("<?xml") or head.startswith("<Error")):
        return None
    found = _CODE.search(body)
    return found.group(1) if found else None


def status_error(status: int | None, bucket: str) -> OriginError | None:
    """What a bucket's 404 or 403 says of it (a HeadBucket, whose answer has no body)."""
    kind = {404: "no_such_bucket", 403: "access_denied"}.get(status or 0)
    return _kind_error(kind, bucket) if kind else None


def _kind_error(kind: str, bucket: str) -> OriginError:
    if kind == "no_such_bucket":
        return OriginError(kind, f"bucket {bucket!r} does not exist (404)")
    return OriginError(kind, f"access to bucket {bucket!r} denied (403)")


def map_error(exc: BaseException, bucket: str) -> OriginError:
    """A library error → OriginError with a stable kind and a secret-free message (an
    OriginError already is one: libcurl's paths raise them)."""
    if isinstance(exc, OriginError):
        return exc
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        kind = _CODES.get(code) or ("no_such_bucket" if code == "404" and status == 404
                                    else "error")
        if kind != "error":
            return _kind_error(kind, bucket)
        return OriginError("error", f"bucket {bucket!r}: {code or status} "
                           f"{err.get('Message', '')}".strip()[:300])
    table = _error_table()
    for cls in type(exc).__mro__:  # the most specific class first: row order does not matter
        if cls in table:
            kind, message = table[cls]
            return OriginError(kind, f"{message} ({type(exc).__name__})")
    return OriginError("error", f"bucket {bucket!r}: {type(exc).__name__}")
