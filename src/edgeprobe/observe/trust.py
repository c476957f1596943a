"""The certificates a run trusts: the system's store as one file (libcurl takes a file, and
Python's default paths say where it is), that store with ``[site] ca_file`` added (the
edges' fetch), and what Python's verification would say of an edge's certificate when
``verify_tls = false`` (so a wrong or expired one is still on record). Kept apart from the
fetch: the bucket's requests (observe/bucket_heads.py) need the store but none of the
fetch's engine, workers or processes.
"""

from __future__ import annotations

import asyncio
import os
import ssl

from edgeprobe.config.settings import SiteSettings


async def tls_verification(site: SiteSettings, address: str, port: int,
                           timeout_s: float) -> str | None:
    """What certificate verification would say of one address, for runs with verify_tls =
    false (so a wrong or expired certificate is still on record): None when it passes or
    when no handshake could be made at all (the fetch reports that)."""
    ctx = ssl.create_default_context()
    if site.ca_file:
        ctx.load_verify_locations(cafile=site.ca_file)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            address, port, ssl=ctx, server_hostname=site.media_host), timeout_s)
    except ssl.SSLCertVerificationError as exc:
        return f"certificate rejected: {exc.verify_message}"[:300]
    except (OSError, TimeoutError):
        return None
    writer.close()
    return None


def system_ca_file() -> str | None:
    """The system's trust store as one file (Python's default paths say where), or None."""
    paths = ssl.get_default_verify_paths()
    return next((p for p in (paths.cafile, paths.openssl_cafile,
                             "/etc/ssl/certs/ca-certificates.crt") if p and os.path.isfile(p)),
                None)


def ca_bundle(site: SiteSettings, directory: str) -> str | None:
    """The CA file libcurl verifies with: the system's trust store plus ``ca_file`` (libcurl
    takes one file; Python's default paths say where the system's is)."""
    if site.scheme != "https":
        return None
    system = system_ca_file()
    if not site.ca_file:
        return system
    bundle = os.path.join(directory, "ca-bundle.pem")
    with open(bundle, "wb") as out:
        for path in (system, site.ca_file):
            if path:
                with open(path, "rb") as src:
                    out.write(src.read() + b"\n")
    return bundle
