"""The commands a responder pastes to see what the probe saw: ``curl`` pinned like it.

A command is kept as its argv (:class:`Curl`) from the transfer that made it to the one place
that renders it, ``shlex.join``; variants (the body, the error answer) are built from the
argv, never by splitting a string back. Reporters show the rendered text verbatim, in code
blocks, so a path with quotes, backticks or ``;`` from an API answer is one argument to curl,
never shell syntax.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from edgeprobe.config.settings import SiteSettings

_HEAD = "-sSI"  # status and headers only: what every check's command asks for


def connect_to(site: SiteSettings, port: int, address: str) -> str:
    """``HOST:PORT:ADDRESS:PORT``: the media host's connections go to this node (libcurl's
    CONNECT_TO, curl's --connect-to)."""
    addr = f"[{address}]" if ":" in address else address
    return f"{site.media_host}:{port}:{addr}:{port}"


@dataclass(frozen=True)
class Curl:
    """One check's ``curl`` command as argv: rendered by :meth:`head`, :meth:`body` and
    :meth:`answer`, each a shell-safe line."""

    argv: tuple[str, ...]

    def head(self) -> str:
        """``curl --connect-to … URL -sSI …``: the check's status and headers."""
        return shlex.join(self.argv)

    def body(self, expected_size: int | None, expected_md5: str | None) -> str:
        """For wrong bytes: the same request fetching the body, printing its size (stderr)
        and MD5 (stdout) beside what the bucket holds — a HEAD cannot show a content
        mismatch."""
        argv = ["-sS" if a == _HEAD else a for a in self.argv]
        argv += ["-w", "%{stderr}%{size_download} bytes\\n"]  # curl turns \\n into a newline
        size = "?" if expected_size is None else str(int(expected_size))
        md5 = expected_md5 if expected_md5 and expected_md5.isalnum() else "?"
        return f"{shlex.join(argv)} | md5sum  # expected: {size} bytes, md5 {md5}"

    def answer(self) -> str:
        """The same request as a GET that prints the headers and then the body (``-D -``):
        for an error whose body is the evidence, such as the bucket's XML ``<Code>`` (a
        HEAD has none)."""
        argv: list[str] = []
        for a in self.argv:
            argv += ["-sS", "-D", "-"] if a == _HEAD else [a]
        return shlex.join(argv)


def shown(curl: Curl | None) -> str | None:
    """A check's command as the run result shows it (None: no command)."""
    return curl.head() if curl is not None else None


HTTP_FLAG = {"h2": "--http2", "http/1.1": "--http1.1", "h3": "--http3-only"}


def curl_command(site: SiteSettings, port: int, address: str | None, url: str,
                 max_bytes: int | None = None, protocol: str = "h2",
                 headers: tuple[str, ...] = ()) -> Curl:
    """``curl --connect-to HOST:PORT:ADDR:PORT URL -sSI --http2 -H 'Origin: …' …``: the
    check's status and headers, from anywhere, through the same node, with the options the
    probe's own libcurl used (HTTP version, request headers, body cap, CA file)."""
    flag = HTTP_FLAG[protocol] if site.scheme == "https" else "--http1.1"
    parts = ["curl", "--connect-to", connect_to(site, port, address or "ADDRESS"), url, _HEAD,
             flag]
    for header in headers:
        parts += ["-H", header]
    if max_bytes:
        parts += ["--max-filesize", str(max_bytes)]
    if site.ca_file:
        parts += ["--cacert", site.ca_file]
    if not site.verify_tls:
        parts.append("-k")
    return Curl(tuple(parts))
