"""Every word edgeprobe judges with, in one place: severities, verdicts, statuses, health.

The analysis chooses among these words; the run result, the reports, the incident state
and the notifications only repeat them. A new finding kind or verdict is added here first;
tests hold the JSON Schema's enums and docs/run-result.md's table of kinds to these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# -- severities (most severe first) --------------------------------------------------------------
CRITICAL, WARNING, INFO = "critical", "warning", "info"
SEVERITIES = (CRITICAL, WARNING, INFO)
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
BLAMING = (CRITICAL, WARNING)  # a finding of these makes the run not ok and blames its target
FAIL_ON = (CRITICAL, WARNING, "never")  # --fail-on

# -- the verdict of one check, and the node finding each failure feeds ---------------------------
OK = "ok"  # the bucket's bytes
MISSING, SERVER_ERROR, MISMATCH, REDIRECT = "missing", "server_error", "mismatch", "redirect"
TIMEOUT, TLS_ERROR, PROTOCOL_ERROR = "timeout", "tls_error", "protocol_error"
NO_CONNECTION = "unreachable"  # a check's verdict (a node's status UNREACHABLE is the same word)
GONE, CACHED, UNVERIFIED = "gone", "cached", "unverified"
FAILURE_KINDS = {
    MISSING: "node_media_missing",
    SERVER_ERROR: "node_server_error",
    MISMATCH: "node_content_mismatch",
    NO_CONNECTION: "node_unreachable",
    TLS_ERROR: "node_tls_error",
    TIMEOUT: "node_slow",
    REDIRECT: "node_redirect",
    PROTOCOL_ERROR: "node_protocol_error",
}
NOT_BLAMED = (GONE, CACHED, UNVERIFIED)  # right, or nothing to judge by
VERDICTS = (OK, *FAILURE_KINDS, *NOT_BLAMED)
CONNECTION_VERDICTS = (NO_CONNECTION, TLS_ERROR, TIMEOUT, PROTOCOL_ERROR)

# -- the origin-path canary: what a node's answer for a key that cannot exist says ------------
CANARY_OK = OK
CANARY_CAUSES = ("bucket_missing", "not_proxying", "origin_unreachable", "catch_all",
                 "access_denied", "origin_error")
# the failure findings on sampled media that a broken path explains (they then name it)
CANARY_EXPLAINS = ("node_media_missing", "node_server_error", "node_content_mismatch",
                   "node_redirect")

# -- what a finding is about ----------------------------------------------------------------------
# in report order
SCOPES = ("fleet", "vantage", "region", "node", "dns", "origin", "object", "samples")

# -- finding kinds: what each says, about what, and the most it weighs ---------------------------
@dataclass(frozen=True)
class FindingKind:
    scope: str  # one of SCOPES
    severity: str  # the most severe it can be (docs/run-result.md says when it is less)
    meaning: str


FINDING_KINDS: dict[str, FindingKind] = {
    "node_media_missing": FindingKind(
        "node", CRITICAL, "4xx for objects the bucket has and healthy peers serve"),
    "node_server_error": FindingKind("node", CRITICAL, "5xx answers"),
    "node_content_mismatch": FindingKind(
        "node", CRITICAL, "200 with other bytes than the bucket's, or a body cut short"),
    "node_unreachable": FindingKind("node", CRITICAL, "no connection: refused, reset, timed out"),
    "node_dns_failure": FindingKind("node", CRITICAL, "the node's host does not resolve"),
    "node_tls_error": FindingKind(
        "node", CRITICAL, "its certificate is not valid for the media host"),
    "node_http2_broken": FindingKind(
        "node", CRITICAL, "its HTTP/2 answers differ from its HTTP/1.1 answers"),
    "node_http3_broken": FindingKind(
        "node", WARNING, "it advertises HTTP/3 (Alt-Svc) and HTTP/3 fails"),
    "node_cors_missing": FindingKind(
        "node", CRITICAL, "no Access-Control-Allow-Origin for the web UI's media"),
    "fleet_cors_missing": FindingKind(
        "fleet", CRITICAL, "no node sends Access-Control-Allow-Origin, and media load "
        "cross-origin"),
    "node_content_type_wrong": FindingKind(
        "node", CRITICAL, "a Content-Type other than the bucket's and its peers'"),
    "origin_content_type_wrong": FindingKind(
        "object", WARNING, "the bucket stores a type its bytes contradict"),
    "node_range_broken": FindingKind(
        "node", CRITICAL, "no 206 with the right bytes for Range: bytes=0-1 (video, audio)"),
    "node_serves_deleted": FindingKind(
        "node", WARNING, "serves an object the bucket no longer has while peers 404 it"),
    "node_cert_expiring": FindingKind("node", CRITICAL, "its certificate runs out soon"),
    "certificates_differ": FindingKind(
        "fleet", INFO, "the nodes present different certificates for the media host"),
    "node_tls_unverified": FindingKind(
        "node", INFO, "verify_tls = false, and verification would have failed"),
    "node_slow": FindingKind(
        "node", CRITICAL, "slow answers, or requests that did not finish within timeout_s"),
    "node_cache_misconfigured": FindingKind(
        "node", WARNING, "the Cache-Control of its 200s differs from the fleet's, or is missing"),
    "node_origin_path_broken": FindingKind(
        "node", CRITICAL, "its answer for a key that cannot exist shows its bucket path broken"),
    "fleet_origin_path_broken": FindingKind(
        "fleet", CRITICAL, "every node's bucket path is broken the same way"),
    "node_never_caches": FindingKind(
        "node", WARNING, "no cache hit for several runs while its peers hit"),
    "node_path_failure": FindingKind(
        "node", WARNING, "merged runs: the node fails from some vantages only"),
    "vantage_degraded": FindingKind(
        "vantage", WARNING, "merged runs: a vantage fails against every node"),
    "region_routed_to_failing_node": FindingKind(
        "region", CRITICAL, "GeoDNS sends a view's users to a broken edge"),
    "dns_unlisted_address": FindingKind(
        "dns", WARNING, "DNS hands a view an address no node lists"),
    "dns_internal_address": FindingKind(
        "dns", WARNING, "DNS hands a view an address that is not globally routable"),
    "node_not_in_dns": FindingKind("dns", INFO, "a listed node that no view receives"),
    "view_dns_failure": FindingKind("dns", CRITICAL, "a view gets no usable DNS answer"),
    "dns_ecs_ignored": FindingKind(
        "dns", INFO, "the servers do not answer by client subnet (ECS scope 0)"),
    "node_redirect": FindingKind("node", CRITICAL, "3xx instead of the object"),
    "node_protocol_error": FindingKind("node", CRITICAL, "answers that are not valid HTTP"),
    "region_degraded": FindingKind(
        "region", CRITICAL, "every node of the region is failing or unreachable"),
    "fleet_slow": FindingKind(
        "fleet", INFO, "every node answered slowly: the bucket, a shared path or the prober"),
    "fleet_wide_failure": FindingKind(
        "fleet", CRITICAL, "every node fails for objects the bucket has"),
    "origin_object_missing": FindingKind("object", WARNING, "the object is not in the bucket"),
    "origin_unavailable": FindingKind("origin", WARNING, "the bucket cannot be checked"),
    "samples_unavailable": FindingKind(
        "samples", INFO, "a bucket listing or the Mastodon API gave no objects"),
    "samples_truncated": FindingKind(
        "samples", INFO, "more objects were found than [samples].max"),
    "samples_short": FindingKind(
        "samples", INFO, "a bucket prefix's walk stopped at its listing budget"),
}

# -- node and region status; run health ----------------------------------------------------------
HEALTHY, DEGRADED, FAILING, UNREACHABLE = "healthy", "degraded", "failing", "unreachable"
# serves its media right, but a finding says that will end (a certificate about to expire):
# not failing, no region finding about broken media, edgeprobe_node_up stays 1
AT_RISK = "at_risk"
STATUSES = (HEALTHY, AT_RISK, DEGRADED, FAILING, UNREACHABLE)
RISK_KINDS = ("node_cert_expiring",)  # findings that put a node at risk, not out of service
HEALTH = (HEALTHY, DEGRADED, FAILING)  # the run's one word, for banners and titles
UNKNOWN = "unknown"  # a view's address that was not probed
VIEW_STATUSES = (*STATUSES, UNKNOWN)


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


def ok(severities: Iterable[str]) -> bool:
    """The run's ``ok``: no finding that blames (a warning or a critical)."""
    return not any(s in BLAMING for s in severities)


_SCOPE_RANK = {s: i for i, s in enumerate(SCOPES)}


def finding_order(severity: str, scope: str, target: str, kind: str) -> tuple[int, int, str, str]:
    """The one order of findings, everywhere (analysis, merge): most severe first, then by
    scope (SCOPES' order), target and kind."""
    return SEVERITY_RANK[severity], _SCOPE_RANK.get(scope, len(SCOPES)), target, kind

