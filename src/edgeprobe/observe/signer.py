"""Signed bucket URLs without a botocore client: botocore's credentials chain and its own
SigV4 query signer (``botocore.auth``), none of its service models.

A botocore client costs ~14 MB and ~0.1 s of CPU for S3's models and endpoint rules, and a
run asks the bucket only plain questions — HEAD the bucket, HEAD each sampled key, GET one
canary key, list a level of keys — that libcurl sends (bucket_heads.py, bucket_list.py)
once their URLs are signed. Where the probe file names the endpoint (``endpoint_url``:
path-style, as s3.py configures the client) the URL is ``{endpoint}/{bucket}/{key}``, and
this module forms it and has botocore sign it: nothing about the signature is edgeprobe's
own. Without an endpoint (AWS's own: virtual-hosted addressing, regional endpoint rules)
the client forms it, as before: ``signer`` is None. tests/observe/test_signer.py holds
these URLs to the client's own, byte for byte.

Always SigV4, the client too (s3.py): left to itself botocore presigns with SigV2 in the
regions that once took it (us-east-1, Mastodon's default ``S3_REGION``, among them), which
AWS is turning off and S3-compatible stores that speak SigV4 only (Cloudflare R2 and
Backblaze B2 say so of theirs) refuse.

The client is still made for the answers only it reads (a redirect to the bucket's region,
an S3 error code in a 400 or a 5xx): s3.py. A signed URL carries credentials, so no message
ever quotes one.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from edgeprobe.config.settings import OriginSettings

PRESIGN_S = 900  # a URL's validity: longer than any run's bucket check
DEFAULT_REGION = "us-east-1"  # botocore signs for it where neither settings nor profile say


@dataclass(frozen=True)
class Signer:
    """One bucket's URLs. ``credentials``: botocore's (refreshable: frozen at each signature,
    as botocore's own signer does); None when anonymous (plain URLs)."""

    bucket_url: str
    region: str
    credentials: Any = None

    def url(self, method: str, key: str | None = None,
            query: Sequence[tuple[str, str]] = ()) -> str:
        """``method``'s URL for the bucket (``key`` None) or one of its keys, with ``query``
        (in botocore's order: its serializer's), signed for PRESIGN_S seconds unless
        anonymous."""
        # botocore's serializer quotes a key the same way: every byte but letters, digits,
        # "-_.~" and "/" (its greedy label {Key+}); query values as its AWSRequest does
        url = self.bucket_url if key is None else f"{self.bucket_url}/{quote(key, safe='/~')}"
        if query:
            url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                  for k, v in query)
        if self.credentials is None:
            return url
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url)
        S3SigV4QueryAuth(self.credentials.get_frozen_credentials(), "s3", self.region,
                         expires=PRESIGN_S).add_auth(request)
        prepared = request.prepare()
        return str(prepared.url)


_making = threading.Lock()


def signer(settings: OriginSettings) -> Signer | None:
    """The bucket's Signer, or None where only the client knows its URLs (no
    ``endpoint_url``, or one with a path). One per settings for the process's life, like
    the client (s3.py): a session resolves the credentials chain once, and botocore
    refreshes what it found. Raises botocore's NoCredentialsError when signed and the chain
    is empty (s3.map_error says so)."""
    with _making:
        return _signer(settings)


@functools.lru_cache(maxsize=8)
def _signer(settings: OriginSettings) -> Signer | None:
    endpoint = settings.endpoint_url
    if endpoint is None:
        return None
    parts = urlsplit(endpoint)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    bucket_url = f"{parts.scheme}://{parts.netloc}/{quote(settings.bucket, safe='')}"
    if settings.anonymous:
        return Signer(bucket_url, settings.region or DEFAULT_REGION)
    import botocore.session
    from botocore.exceptions import NoCredentialsError

    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    region = settings.region or session.get_config_variable("region") or DEFAULT_REGION
    return Signer(bucket_url, region, credentials)
