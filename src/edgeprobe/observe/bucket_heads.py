"""The bucket's plain questions, sent by libcurl's multi interface with URLs signed by
botocore (signer.py, or the client's presigner without an endpoint): HEAD the bucket,
HEAD many keys at once, GET the canary's missing key (and a listing's pages: bucket_list.py).

A boto3 call costs ~3 ms of CPU in botocore (event hooks, validation, parsing) for a few
hundred bytes of answer, and in a thread beside the fetch it takes the GIL from it; the
client itself ~14 MB and ~0.1 s to make. Presigning costs ~0.25 ms and libcurl's request
next to nothing (docs/performance.md). Only plain answers are read here: 200, 404, 403 (and
a transport failure). Anything else (a redirect to the bucket's region, a 400, a 5xx, a TLS
failure the client's own CA settings may not have) is None, and the caller asks boto3,
which knows those. A signed URL carries credentials, so it never leaves this module: no
message quotes it, nor libcurl's own error text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pycurl

from edgeprobe._version import __version__
from edgeprobe.config.settings import OriginSettings
from edgeprobe.errors import FetchError, OriginError
from edgeprobe.observe.curl_errors import map_curl_error
from edgeprobe.observe.engine import wait
from edgeprobe.observe.observations import OriginObject
from edgeprobe.observe.s3 import TIMED_OUT, UNREACHABLE, make_client, status_error
from edgeprobe.observe.signer import PRESIGN_S, Signer, signer
from edgeprobe.observe.trust import system_ca_file

FORBIDDEN = ("403 from the bucket: missing, or no permission (without s3:ListBucket S3 says "
             "403 for missing keys)")
MAX_BODY = 16 * 1024  # bytes of an answer's body kept (an S3 error is a few hundred)


class Answer:
    """One request's answer as libcurl delivers it: the last status line's status and
    headers, up to ``max_body`` bytes of body (a GET's), or the failure."""

    def __init__(self, max_body: int = MAX_BODY) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.max_body = max_body
        self.failure: FetchError | None = None

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

    def on_body(self, chunk: bytes) -> int | None:
        if len(self.body) + len(chunk) > self.max_body:
            return 0  # ends the transfer: what a caller reads is already here
        self.body += chunk
        return None

    def object(self, bucket: str, key: str) -> OriginObject | None:
        """What this answer to a key's HEAD says of the key (None: ask boto3)."""
        if self.failure is not None:
            return OriginObject(key, exists=None, error=f"bucket {bucket!r}: {self.failure}")
        if self.status == 200:
            size = self.headers.get("content-length", "")
            return OriginObject(key, exists=True, size=int(size) if size.isdigit() else None,
                                etag=self.headers.get("etag"),
                                content_type=self.headers.get("content-type"))
        if self.status == 404:
            return OriginObject(key, exists=False)
        if self.status == 403:
            return OriginObject(key, exists=None, error=FORBIDDEN)
        return None


def presign(settings: OriginSettings, keys: Sequence[str], timeout_s: float) -> list[str]:
    """A signed HEAD URL per key (plain when anonymous): signer.py's, or the client's where
    only it knows the bucket's URLs."""
    bucket = signer(settings)
    if bucket is not None:
        return [bucket.url("HEAD", k) for k in keys]
    client = make_client(settings, timeout_s)
    return [client.generate_presigned_url("head_object", Params={"Bucket": settings.bucket,
                                                                 "Key": k}, ExpiresIn=PRESIGN_S)
            for k in keys]


def bucket_cainfo(settings: OriginSettings) -> str | None:
    """The CA file for the bucket's endpoint: ``ca_file``, else botocore's AWS_CA_BUNDLE,
    else the system's trust store."""
    return settings.ca_file or os.environ.get("AWS_CA_BUNDLE") or system_ca_file()


def ask_one(settings: OriginSettings, method: str, url: str, timeout_s: float,
            max_body: int = MAX_BODY) -> Answer | None:
    """One request to the bucket's endpoint, answered; None for a TLS or protocol failure,
    which the client, with CA settings of its own (a profile's ``ca_bundle``), may not
    share: ask it. Raises OriginError for an endpoint that cannot be reached or does not
    answer in time, in the words boto3's failure gets (s3.map_error). Blocking."""
    (answer,) = ask_all([(method, url)], timeout_s, bucket_cainfo(settings), 1, max_body)
    failure = answer.failure
    if failure is None:
        return answer
    said = {"unreachable": UNREACHABLE, "timeout": TIMED_OUT}.get(failure.kind)
    if said is None:
        return None
    raise OriginError(failure.kind, f"{said} ({failure})")


def head_bucket(settings: OriginSettings, bucket: Signer, timeout_s: float) -> bool | None:
    """True when the bucket answers its HEAD with 200; None when only boto3 can read the
    answer. Raises OriginError for a 404, a 403, or an endpoint that cannot be reached or
    does not answer in time. Blocking: signing may refresh credentials (I/O)."""
    answer = ask_one(settings, "HEAD", bucket.url("HEAD"), timeout_s)
    if answer is None:
        return None
    error = status_error(answer.status, settings.bucket)
    if error is not None:
        raise error
    return True if answer.status == 200 else None


def head_all(bucket: str, keys: Sequence[str], urls: Sequence[str], timeout_s: float,
             cainfo: str | None, parallel: int) -> list[OriginObject | None]:
    """Each key's answer, in order (None: not a plain answer, ask boto3). Blocking: at most
    ``parallel`` in flight, each within ``timeout_s``."""
    answers = ask_all([("HEAD", u) for u in urls], timeout_s, cainfo, parallel)
    return [a.object(bucket, k) for k, a in zip(keys, answers, strict=True)]


def ask_all(requests: Sequence[tuple[str, str]], timeout_s: float, cainfo: str | None,
            parallel: int, max_body: int = MAX_BODY) -> list[Answer]:
    """Each (method, URL)'s Answer, in order: at most ``parallel`` in flight, each within
    ``timeout_s``; no redirect followed. Blocking."""
    answers = [Answer(max_body) for _ in requests]
    multi = pycurl.CurlMulti()
    active: dict[pycurl.Curl, int] = {}
    pending = iter(range(len(requests)))

    def start() -> None:
        while len(active) < parallel:
            i = next(pending, None)
            if i is None:
                return
            (method, url), answer, curl = requests[i], answers[i], pycurl.Curl()
            for option, value in ((pycurl.URL, url), (pycurl.NOSIGNAL, 1),
                                  (pycurl.FOLLOWLOCATION, 0),
                                  (pycurl.USERAGENT, f"edgeprobe/{__version__}"),
                                  (pycurl.TIMEOUT_MS, int(timeout_s * 1000)),
                                  (pycurl.HEADERFUNCTION, answer.on_header),
                                  (pycurl.WRITEFUNCTION, answer.on_body)):
                curl.setopt(option, value)
            if method == "HEAD":
                curl.setopt(pycurl.NOBODY, 1)
            if cainfo:
                curl.setopt(pycurl.CAINFO, cainfo)
            active[curl] = i
            multi.add_handle(curl)

    def finish(curl: pycurl.Curl, code: int | None) -> None:
        answer = answers[active.pop(curl)]
        # a write error after the status line is on_body's own stop: an answer
        if code is not None and not (code == pycurl.E_WRITE_ERROR and answer.status):
            # libcurl's own text may quote the signed URL: the kind's words only
            answer.failure = map_curl_error(code, "",
                                            connected=curl.getinfo(pycurl.CONNECT_TIME) > 0,
                                            answered=answer.status is not None)
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
