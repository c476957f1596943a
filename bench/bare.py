"""The ceiling of Python here: a bare libcurl multi loop that GETs every URL pinned to its
node and hashes every body with MD5, and does nothing else (no results, no analysis, no
JSON). The benchmark runs it beside edgeprobe, curl and blackbox_exporter, so the cost of
edgeprobe's own work per check is the difference between this line and edgeprobe's.

    python bench/bare.py URLS CA [--parallel 64] [--http1]

URLS: a file of "url<TAB>host:port:address:port" lines (as curl's --connect-to). Prints the
number of bodies hashed and fails when any transfer failed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import pycurl


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", type=Path)
    parser.add_argument("ca")
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--http1", action="store_true", help="HTTP/1.1 only (default: h2 by ALPN)")
    args = parser.parse_args()
    jobs = [line.split("\t") for line in args.urls.read_text().splitlines() if line]
    multi = pycurl.CurlMulti()
    idle = [pycurl.Curl() for _ in range(args.parallel)]
    digests: dict[pycurl.Curl, object] = {}
    hashed = failed = 0
    version = pycurl.CURL_HTTP_VERSION_1_1 if args.http1 else pycurl.CURL_HTTP_VERSION_2TLS

    def start(url: str, connect: str) -> None:
        curl = idle.pop()
        md5 = hashlib.md5(usedforsecurity=False)
        digests[curl] = md5
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.CONNECT_TO, [connect])
        curl.setopt(pycurl.CAINFO, args.ca)
        curl.setopt(pycurl.HTTP_VERSION, version)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.BUFFERSIZE, 256 * 1024)
        curl.setopt(pycurl.WRITEFUNCTION, md5.update)
        multi.add_handle(curl)

    def finish(curl: pycurl.Curl) -> None:
        multi.remove_handle(curl)
        digests.pop(curl).hexdigest()  # type: ignore[attr-defined]
        curl.reset()
        idle.append(curl)

    pending = iter(jobs)

    def refill() -> None:
        while idle:
            job = next(pending, None)
            if job is None:
                return
            start(*job)

    refill()
    while digests:
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        while True:
            left, ok, errors = multi.info_read()
            for curl in ok:
                hashed += curl.getinfo(pycurl.RESPONSE_CODE) == 200
                finish(curl)
            for curl, _code, _message in errors:
                failed += 1
                finish(curl)
            if not left:
                break
        refill()
        if digests:  # libcurl's timer says 0 when it holds data read ahead: no wait
            due_ms = multi.timeout()
            if due_ms != 0:
                multi.select(0.5 if due_ms < 0 else min(0.5, due_ms / 1000))
    print(hashed)
    if failed or hashed != len(jobs):
        sys.exit(f"{failed} failed, {hashed} of {len(jobs)} hashed")


if __name__ == "__main__":
    main()
