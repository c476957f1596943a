"""Findings about the certificates the nodes present (libcurl's CERTINFO, one per node).

An edge whose certificate runs out breaks every image it serves, and certificates renewed
edge by edge (an ACME challenge answered by whichever edge GeoDNS picked) expire edge by
edge: each node's expiry is judged on its own, and different certificates for the same
name are worth knowing (info: often each edge simply renews its own).
"""

from __future__ import annotations

from datetime import datetime

from edgeprobe.analyze.types import CertificateInfo, Check, Finding
from edgeprobe.observe.observations import Certificate
from edgeprobe.vocabulary import CRITICAL, INFO, WARNING

CRITICAL_DAYS = 3  # a certificate expiring within this many days is critical


def node_certificates(checks_by_node: dict[str, list[Check]]) -> dict[str, Certificate]:
    """Each node's certificate: the first one recorded among its checks."""
    out = {}
    for node, checks in checks_by_node.items():
        cert = next((c.fetch.certificate for c in checks if c.fetch.certificate), None)
        if cert is not None:
            out[node] = cert
    return out


def days_left(cert: Certificate, now: datetime) -> float:
    expires = datetime.strptime(cert.not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=now.tzinfo)
    return round((expires - now).total_seconds() / 86400, 1)


def describe(cert: Certificate, now: datetime | None) -> CertificateInfo:
    """A certificate as the run result shows it (with days left when the time is known)."""
    out: CertificateInfo = {"subject": cert.subject, "issuer": cert.issuer, "san": cert.san,
                           "not_after": cert.not_after, "sha256": cert.sha256}
    if now is not None:
        out["days_left"] = days_left(cert, now)
    return out


def cert_findings(certs: dict[str, Certificate], now: datetime | None, warn_days: int,
                  media_host: str, tls_failed: set[str]) -> list[Finding]:
    """node_cert_expiring per node (warning within warn_days, critical within
    CRITICAL_DAYS or expired), and one certificates_differ (info) across the fleet. An
    expired certificate that already failed verification is that node's node_tls_error
    (one problem, one finding; its dates stay on the node's ``certificate``)."""
    findings = []
    for node, cert in certs.items():
        left = days_left(cert, now) if now is not None else float("inf")
        if left > max(warn_days, CRITICAL_DAYS):  # within 3 days is critical, always
            continue
        if left < 0 and node in tls_failed:
            continue
        when = f"expired {-left:g} days ago" if left < 0 else f"expires in {left:g} days"
        findings.append(Finding(
            "node_cert_expiring", "node", node, CRITICAL if left <= CRITICAL_DAYS else WARNING,
            f"{node}'s certificate for {media_host} {when} ({cert.not_after}); the other "
            "nodes' renewals do not help the users routed to it",
            {**describe(cert, now), "warn_days": warn_days, "critical_days": CRITICAL_DAYS}))
    by_print: dict[str, list[str]] = {}
    for node, cert in certs.items():
        by_print.setdefault(cert.sha256, []).append(node)
    if len(by_print) > 1:
        groups = sorted(by_print.values(), key=lambda nodes: (-len(nodes), nodes))
        findings.append(Finding(
            "certificates_differ", "fleet", "fleet", INFO,
            f"the nodes present {len(by_print)} different certificates for {media_host}: "
            + "; ".join(", ".join(nodes) for nodes in groups),
            {"by_certificate": {sha: {"nodes": nodes, **describe(certs[nodes[0]], now)}
                                for sha, nodes in by_print.items()}}))
    return findings
