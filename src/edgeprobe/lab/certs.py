"""A local CA and server certificates for the media host (and the broken variants)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass
class LabCerts:
    ca_file: Path
    good: ssl.SSLContext  # for the media host
    wrong_name: ssl.SSLContext  # valid, trusted, but for another name
    expired: ssl.SSLContext  # the media host, expired yesterday
    expiring: ssl.SSLContext  # the media host, valid, expiring in two days
    cert_file: Path | None = None  # the good certificate and its key as PEM files (for nginx)
    key_file: Path | None = None
    expiring_files: tuple[Path, Path] | None = None  # the expiring one's (cert, key) PEMs


def make_certs(media_host: str, directory: Path) -> LabCerts:
    import trustme

    ca = trustme.CA(organization_name="edgeprobe lab CA")
    ca_file = directory / "lab-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.now(UTC)

    def context(cert: trustme.LeafCert) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        return ctx

    good = ca.issue_cert(media_host)
    cert_file, key_file = directory / "media-cert.pem", directory / "media-key.pem"
    good.cert_chain_pems[0].write_to_path(str(cert_file))
    good.private_key_pem.write_to_path(str(key_file))
    expiring = ca.issue_cert(media_host, not_before=now - timedelta(days=88),
                             not_after=now + timedelta(days=2))
    expiring_files = (directory / "expiring-cert.pem", directory / "expiring-key.pem")
    expiring.cert_chain_pems[0].write_to_path(str(expiring_files[0]))
    expiring.private_key_pem.write_to_path(str(expiring_files[1]))
    for path in expiring_files:
        path.chmod(0o644)  # nginx's workers drop privileges when started as root
    return LabCerts(
        ca_file=ca_file,
        good=context(good),
        wrong_name=context(ca.issue_cert("cdn.wrong-site.test")),
        expired=context(ca.issue_cert(media_host, not_before=now - timedelta(days=90),
                                      not_after=now - timedelta(days=1))),
        expiring=context(expiring), cert_file=cert_file, key_file=key_file,
        expiring_files=expiring_files,
    )
