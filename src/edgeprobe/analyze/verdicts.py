"""The reference for each object and the verdict of each (node, object) check."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from edgeprobe.analyze.types import Reference
from edgeprobe.observe.observations import FetchResult, OriginObject
from edgeprobe.vocabulary import (
    CACHED,
    GONE,
    MISMATCH,
    MISSING,
    OK,
    REDIRECT,
    SERVER_ERROR,
    UNVERIFIED,
)

_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')


def etag_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, or None: multipart ("<hex>-<parts>") and SSE-KMS/SSE-C
    ETags are not the MD5 of the bytes."""
    match = _MD5_ETAG.match(etag or "")
    return match.group(1).lower() if match else None


def _complete_200s(fetches: Sequence[FetchResult]) -> list[FetchResult]:
    return [f for f in fetches if f.status_code == 200 and not f.truncated and f.md5]


def _plurality(values: Sequence[tuple[int | None, str | None]]) -> tuple[int | None, str | None]:
    counts = Counter(values).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None, None
    return counts[0][0]


def reference(origin: OriginObject | None, fetches: Sequence[FetchResult]) -> Reference:
    """The bucket where it answered; otherwise the nodes' plurality (a tie means unknown)."""
    served = _complete_200s(fetches)
    if origin is not None and origin.exists is True:
        md5 = etag_md5(origin.etag)
        if md5 is None:  # multipart ETag: the peers' hash of bytes of the right size
            _, md5 = _plurality([(None, f.md5) for f in served if f.size == origin.size])
        return Reference(True, origin.size, md5, "bucket")
    if origin is not None and origin.exists is False:
        return Reference(False, source="bucket")
    size, md5 = _plurality([(f.size, f.md5) for f in served])
    if size is None:
        return Reference(None)
    return Reference(True, size, md5, "consensus")


def verdict(fetch: FetchResult, ref: Reference, max_body_bytes: int) -> str:
    """One word for one check; see analyze.types.VERDICTS."""
    if fetch.error_kind:
        return MISMATCH if fetch.error_kind == "truncated" else fetch.error_kind
    code = fetch.status_code or 0
    if 300 <= code < 400:
        return REDIRECT
    if 400 <= code < 500:
        return GONE if ref.exists is False else MISSING
    if code >= 500 or code < 200:
        return SERVER_ERROR
    if ref.exists is False:
        return CACHED  # served from the edge's cache after the bucket lost it: not blamed
    if fetch.truncated:
        known_small = ref.size is not None and ref.size <= max_body_bytes
        return MISMATCH if known_small else UNVERIFIED
    if ref.size is None:
        return UNVERIFIED
    if code != 200 or fetch.size != ref.size or (ref.md5 and fetch.md5 != ref.md5):
        return MISMATCH
    return OK
