"""The commands a responder pastes to see what the probe saw: ``curl`` pinned like it.

Every argument goes through ``shlex.join`` and nothing alters the result afterwards
(reporters show it verbatim, in code blocks), so a path with quotes, backticks or ``;``
from an API answer is one argument to curl, never shell syntax.
"""

from __future__ import annotations

import shlex

from edgeprobe.config.settings import SiteSettings


def connect_to(site: SiteSettings, port: int, address: str) -> str:
    """``HOST:PORT:ADDRESS:PORT``: the media host's connections go to this node (libcurl's
    CONNECT_TO, curl's --connect-to)."""
    addr = f"[{address}]" if ":" in address else address
    return f"{site.media_host}:{port}:{addr}:{port}"


def curl_command(site: SiteSettings, port: int, address: str | None, url: str,
                 max_bytes: int | None = None) -> str:
    """``curl --connect-to HOST:PORT:ADDR:PORT URL -sSI --http1.1 …``: the check's status
    and headers, from anywhere, through the same node, with the options the probe's own
    libcurl used (HTTP version, body cap, CA file)."""
    parts = ["curl", "--connect-to", connect_to(site, port, address or "ADDRESS"), url, "-sSI",
             "--http1.1"]
    if max_bytes:
        parts += ["--max-filesize", str(max_bytes)]
    if site.ca_file:
        parts += ["--cacert", site.ca_file]
    if not site.verify_tls:
        parts.append("-k")
    return shlex.join(parts)


def body_command(head_command: str, expected_size: int | None, expected_md5: str | None) -> str:
    """For wrong bytes: the same request fetching the body, printing its size (stderr) and
    MD5 (stdout) beside what the bucket holds — a HEAD cannot show a content mismatch."""
    argv = ["-sS" if a == "-sSI" else a for a in shlex.split(head_command)]
    argv += ["-w", "%{stderr}%{size_download} bytes\\n"]  # curl turns \\n into a newline
    size = "?" if expected_size is None else str(int(expected_size))
    md5 = expected_md5 if expected_md5 and expected_md5.isalnum() else "?"
    return f"{shlex.join(argv)} | md5sum  # expected: {size} bytes, md5 {md5}"


def answer_command(head_command: str) -> str:
    """The same request as a GET that prints the headers and then the body (``-D -``): for
    an error whose body is the evidence, such as the bucket's XML ``<Code>`` (a HEAD has
    none)."""
    argv = []
    for a in shlex.split(head_command):
        argv += ["-sS", "-D", "-"] if a == "-sSI" else [a]
    return shlex.join(argv)
