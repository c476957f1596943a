"""The bucket's HEAD for many keys at once: signed by botocore (its credentials chain, its
addressing style, its signature, as a presigned URL), sent by libcurl's multi interface.

A boto3 ``head_object`` costs ~3 ms of CPU in botocore (event hooks, validation, parsing)
for a few hundred bytes of answer, and in a thread beside the fetch it takes the GIL from
it; presigning costs ~0.25 ms and libcurl's HEAD next to nothing (docs/performance.md).
Only plain answers are read here: 200 (exists: size, ETag, type), 404 (missing), 403 (can't
tell). Anything else (a redirect to the bucket's region, a 400, a 5xx) is None, and the
caller asks boto3, which knows those. A signed URL carries credentials, so it never leaves
this module: no message quotes it, nor libcurl's own error text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pycurl

from edgeprobe._version import __version__
from edgeprobe.observe.curl_errors import map_curl_error
from edgeprobe.observe.engine import wait
from edgeprobe.observe.observations import OriginObject

PRESIGN_S = 900  # a URL's validity: longer than any run's bucket check
FORBIDDEN = ("403 from the bucket: missing, or no permission (without s3:ListBucket S3 says "
             "403 for missing keys)")


def presign(client: Any, bucket: str, keys: Sequence[str]) -> list[str]:
    """A signed HEAD URL per key (unsigned when the client is anonymous)."""
    return [client.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": k},
                                          ExpiresIn=PRESIGN_S) for k in keys]


class _Head:
    def __init__(self, key: str) -> None:
        self.key = key
        self.status: int | None = None
        self.headers: dict[str, str] = {}

    def on_header(self, line: bytes) -> None:
        text = line.decode("iso-8859-1").strip()
        if text.startswith("HTTP/"):
            parts = text.split()
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            self.headers = {}
        else:
            name, sep, value = text.partition(":")
            if sep:
                self.headers[name.strip().lower()] = value.strip()

    def answer(self) -> OriginObject | None:
        if self.status == 200:
            size = self.headers.get("content-length", "")
            return OriginObject(self.key, exists=True,
                                size=int(size) if size.isdigit() else None,
                                etag=self.headers.get("etag"),
                                content_type=self.headers.get("content-type"))
        if self.status == 404:
            return OriginObject(self.key, exists=False)
        if self.status == 403:
            return OriginObject(self.key, exists=None, error=FORBIDDEN)
        return None


def head_all(bucket: str, keys: Sequence[str], urls: Sequence[str], timeout_s: float,
             cainfo: str | None, parallel: int) -> list[OriginObject | None]:
    """Each key's answer, in order (None: not a plain answer, ask boto3). Blocking: at most
    ``parallel`` in flight, each within ``timeout_s``."""
    answers: list[OriginObject | None] = [None] * len(keys)
    multi = pycurl.CurlMulti()
    active: dict[pycurl.Curl, tuple[int, _Head]] = {}
    pending = iter(range(len(keys)))

    def start() -> None:
        while len(active) < parallel:
            i = next(pending, None)
            if i is None:
                return
            head, curl = _Head(keys[i]), pycurl.Curl()
            for option, value in ((pycurl.URL, urls[i]), (pycurl.NOBODY, 1),
                                  (pycurl.NOSIGNAL, 1), (pycurl.FOLLOWLOCATION, 0),
                                  (pycurl.USERAGENT, f"edgeprobe/{__version__}"),
                                  (pycurl.TIMEOUT_MS, int(timeout_s * 1000)),
                                  (pycurl.HEADERFUNCTION, head.on_header)):
                curl.setopt(option, value)
            if cainfo:
                curl.setopt(pycurl.CAINFO, cainfo)
            active[curl] = (i, head)
            multi.add_handle(curl)

    def finish(curl: pycurl.Curl, code: int | None) -> None:
        i, head = active.pop(curl)
        if code is None:
            answers[i] = head.answer()
        else:  # libcurl's own text may quote the signed URL: the kind's words only
            err = map_curl_error(code, "", connected=curl.getinfo(pycurl.CONNECT_TIME) > 0,
                                 answered=head.status is not None)
            answers[i] = OriginObject(head.key, exists=None, error=f"bucket {bucket!r}: {err}")
        multi.remove_handle(curl)
        curl.close()

    try:
        start()
        while active:
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                left, ok, failed = multi.info_read()
                for curl in ok:
                    finish(curl, None)
                for curl, code, _message in failed:
                    finish(curl, code)
                if not left:
                    break
            start()
            if active:
                wait(multi)
    finally:
        for curl in active:
            multi.remove_handle(curl)
            curl.close()
        multi.close()
    return answers
