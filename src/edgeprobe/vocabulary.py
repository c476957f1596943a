"""Every word edgeprobe judges with, in one place: severities, verdicts, statuses, health.

The analysis chooses among these words; the run result, the reports, the incident state
and the notifications only repeat them. A new finding kind or verdict is added here first.
"""

from __future__ import annotations

from collections.abc import Iterable

# -- severities (most severe first) --------------------------------------------------------------
CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITIES = (CRITICAL, WARNING, INFO)
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
BLAMING = (CRITICAL, WARNING)  # a finding of these makes the run not ok and blames its target
FAIL_ON = (CRITICAL, WARNING, "never")  # --fail-on

# -- the verdict of one check, and the node finding each failure feeds ---------------------------
FAILURE_KINDS = {
    "missing": "node_media_missing",
    "server_error": "node_server_error",
    "mismatch": "node_content_mismatch",
    "unreachable": "node_unreachable",
    "tls_error": "node_tls_error",
    "timeout": "node_slow",
    "redirect": "node_redirect",
    "protocol_error": "node_protocol_error",
}
NOT_BLAMED = ("gone", "cached", "unverified")  # right, or nothing to judge by
VERDICTS = ("ok", *FAILURE_KINDS, *NOT_BLAMED)
CONNECTION_VERDICTS = ("unreachable", "tls_error", "timeout", "protocol_error")

# -- the origin-path canary: what a node's answer for a key that cannot exist says ------------
CANARY_OK = "ok"
CANARY_CAUSES = ("bucket_missing", "not_proxying", "origin_unreachable", "catch_all",
                 "access_denied", "origin_error")
# the failure findings on sampled media that a broken path explains (they then name it)
CANARY_EXPLAINS = ("node_media_missing", "node_server_error", "node_content_mismatch",
                   "node_redirect")

# -- what a finding is about ----------------------------------------------------------------------
# in report order
SCOPES = ("fleet", "vantage", "region", "node", "dns", "origin", "object", "samples")

# -- node and region status; run health ----------------------------------------------------------
HEALTHY, DEGRADED, FAILING, UNREACHABLE = "healthy", "degraded", "failing", "unreachable"
STATUSES = (HEALTHY, DEGRADED, FAILING, UNREACHABLE)
HEALTH = (HEALTHY, DEGRADED, FAILING)  # the run's one word, for banners and titles


def health(severities: Iterable[str]) -> str:
    """The run's health from its findings' severities: failing with a critical, degraded
    with a warning, else healthy."""
    seen = set(severities)
    return FAILING if CRITICAL in seen else DEGRADED if WARNING in seen else HEALTHY


def fails(severity: str, fail_on: str) -> bool:
    """Whether a finding of ``severity`` makes the exit status 1 under ``--fail-on``."""
    if fail_on == "never":
        return False
    return SEVERITY_RANK[severity] <= SEVERITY_RANK[fail_on]
