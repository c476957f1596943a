"""The origin-path canary, judged: what each node's answer for a key that cannot exist says
about its path to the bucket (docs/analysis.md, "The origin-path canary").

| the node answers                                  | cause              |
|---------------------------------------------------|--------------------|
| the bucket's own error (NoSuchKey / AccessDenied) | — (the path works) |
| S3 XML ``NoSuchBucket``                           | bucket_missing     |
| AccessDenied where the bucket says NoSuchKey      | access_denied      |
| another S3 error code                             | origin_error       |
| not the bucket's XML (HTML or app 404, a 3xx)     | not_proxying       |
| 5xx, or a timeout after connecting                | origin_unreachable |
| 200                                               | catch_all          |

A node that could not be reached at all has no canary verdict: node_unreachable and its
kin say that. Where the canary's cause explains the node's failures on sampled media, the
findings name each other; where the node still served sampled media (from its cache),
the canary finding says the cache is hiding the break, and for how long it can.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import NotRequired, TypedDict

from edgeprobe.analyze.cache import HIT, age_s, cache_status
from edgeprobe.analyze.types import CanaryAnswer, Check, Finding, NodeCanary
from edgeprobe.observe.observations import CanaryReference, FetchResult
from edgeprobe.observe.s3 import s3_error_code
from edgeprobe.vocabulary import CANARY_CAUSES, CANARY_EXPLAINS, CANARY_OK, CRITICAL, OK, WARNING

_PATH_WORKS = ("NoSuchKey", "AccessDenied")

# The cause in plain words, for the finding's summary (what a responder acts on).
PLAIN = {
    "bucket_missing": "its bucket name is wrong: the store answers NoSuchBucket",
    "access_denied": "the store refuses it: AccessDenied where the bucket answers {expected} "
                     "(another or a private bucket, or wrong credentials)",
    "origin_error": "the store answers {code} ({status}) where the bucket answers {expected}",
    "not_proxying": "it does not proxy to the bucket (object storage off, or files looked up "
                    "on its local disk): a missing key gets {status} {shape} instead of the "
                    "bucket's {expected}",
    "origin_unreachable": "it cannot reach the bucket: a missing key gets {status}",
    "origin_hangs": "its path to the bucket hangs: a missing key got no answer in {waited:g} s "
                    "(edgeprobe's timeout_s; nginx gives up only after its own proxy timeouts, "
                    "30–60 s)",
    "catch_all": "it answers 200 for objects that do not exist (a catch-all): missing media "
                 "look present",
}
SHORT = {"bucket_missing": "bucket name wrong (NoSuchBucket)",
         "access_denied": "the store refuses the edge (AccessDenied)",
         "origin_error": "the store answers an error", "not_proxying": "not proxying to the bucket",
         "origin_unreachable": "bucket unreachable", "catch_all": "a catch-all answers 200"}


def expected_words(ref: CanaryReference | None) -> str:
    if ref is None or ref.status_code is None:
        return "NoSuchKey or AccessDenied"
    return f"{ref.status_code} {ref.code}".strip()


def classify(f: FetchResult, ref: CanaryReference | None) -> str | None:
    """One answer → ``ok``, a cause (CANARY_CAUSES) or None (no answer to judge)."""
    if f.status_code is None:  # "timeout" is only ever a request that was connected
        return "origin_unreachable" if f.error_kind == "timeout" else None
    status = f.status_code
    if 200 <= status < 300:
        return "catch_all"
    if status >= 500:
        return "origin_unreachable"
    code = s3_error_code(f.body_excerpt)
    if code is None:
        return "not_proxying"
    if code == "NoSuchBucket":
        return "bucket_missing"
    expected = ref.code if ref is not None and ref.code in _PATH_WORKS else None
    if code == "AccessDenied" and expected == "NoSuchKey":
        return "access_denied"
    return CANARY_OK if code in _PATH_WORKS else "origin_error"


def judge(fetches: Sequence[FetchResult], ref: CanaryReference | None) -> NodeCanary:
    answers: list[CanaryAnswer] = []
    verdicts = []
    for f in fetches:
        verdict = classify(f, ref)
        verdicts.append(verdict)
        answers.append({"path": f.path, "address": f.address, "status_code": f.status_code,
                        "code": s3_error_code(f.body_excerpt), "verdict": verdict,
                        "body_excerpt": f.body_excerpt, "error": f.error,
                        "curl": f.curl.answer() if f.curl else None})
    judged = [v for v in verdicts if v is not None]
    broken = Counter(v for v in judged if v != CANARY_OK)
    verdict = broken.most_common(1)[0][0] if broken else (CANARY_OK if judged else None)
    return NodeCanary(verdict, tuple(answers))


class Hidden(TypedDict):
    """What a node's cache still served while its path to the bucket is broken."""

    served: int
    of: int
    cache_hits: int
    max_age_s: int | None
    cache_valid_h: float


class Expected(TypedDict):
    """What the bucket itself answers for a missing key."""

    status_code: int | None
    code: str | None


class PathEvidence(TypedDict):
    """node_/fleet_origin_path_broken's evidence (schema: ``$defs/path_evidence``); the
    fleet's adds ``nodes`` and ``example_node``."""

    cause: str
    requests: int
    failed: int
    expected: Expected
    answers: list[CanaryAnswer]
    explains: list[str]
    cache: NotRequired[Hidden]


def _hiding(checks: Sequence[Check], cache_valid_h: float) -> tuple[str, Hidden | None]:
    """What the node's sampled media say while its path is broken: served anyway (from its
    cache) — how many, and for how long a cache can keep them."""
    served = [c.fetch for c in checks if c.verdict == OK]
    if not served:
        return "", None
    hits = sum(1 for f in served if cache_status(f.headers) == HIT)
    ages = [a for f in served if (a := age_s(f.headers)) is not None]
    text = (f"; its cache is hiding it: {len(served)} of {len(checks)} sampled objects were "
            f"still served ({hits} cache hit{'s' if hits != 1 else ''}), for at most "
            f"{cache_valid_h:g} h after each was cached (proxy_cache_valid)")
    if ages:
        text += f", the oldest cached {max(ages)} s ago"
    text += "; everything not in its cache, new uploads first, fails now"
    return text, {"served": len(served), "of": len(checks), "cache_hits": hits,
                  "max_age_s": max(ages) if ages else None, "cache_valid_h": cache_valid_h}


def canary_findings(canaries: Mapping[str, NodeCanary], ref: CanaryReference | None,
                    checks_by_node: Mapping[str, Sequence[Check]],
                    findings: Sequence[Finding], cache_valid_h: float,
                    whole_fleet: bool = True, waited_s: float = 0.0) -> list[Finding]:
    """The findings with each broken node's node_origin_path_broken added, and the failure
    findings it explains pointing at it (and it at them). When every node of a whole-fleet
    run says the same cause, that is shared configuration or the store itself: one
    fleet_origin_path_broken, not one finding per node (as fleet_wide_failure)."""
    out = list(findings)
    expected = expected_words(ref)
    broken = {n: c for n, c in canaries.items() if c.verdict in CANARY_CAUSES}
    judged = [c for c in canaries.values() if c.verdict is not None]
    shared = whole_fleet and len(broken) > 1 and len(broken) == len(judged) and \
        len({c.verdict for c in broken.values()}) == 1
    fleet_explains: list[str] = []
    for node, canary in broken.items():
        cause = str(canary.verdict)
        plain = _plain(canary, cause, expected, waited_s)
        explains: list[str] = []
        for i, f in enumerate(out):
            mine = f.target == node and f.kind in CANARY_EXPLAINS
            if (mine or (shared and f.kind == "fleet_wide_failure")) and \
                    "cause" not in f.evidence:
                explains.append(f.kind)
                see = "fleet_origin_path_broken" if shared else "node_origin_path_broken"
                out[i] = replace(f, summary=f"{f.summary} — cause: {SHORT[cause]} (see {see})",
                                 evidence={**f.evidence, "cause": cause, "see": see})
        if shared:
            fleet_explains += [k for k in explains if k not in fleet_explains]
            continue
        hiding, cache = _hiding(checks_by_node.get(node, ()), cache_valid_h)
        answered = [a for a in canary.answers if a["verdict"] is not None]
        failed = [a for a in answered if a["verdict"] != CANARY_OK]
        severity = CRITICAL if len(failed) == len(answered) and cause != "catch_all" else WARNING
        out.append(Finding("node_origin_path_broken", "node", node, severity,
                           f"{node}: its path to the bucket is broken — {plain}{hiding}",
                           _evidence(canary, cause, ref, explains, len(failed), cache)))
    if shared:
        first_node, first = next(iter(broken.items()))
        cause = str(first.verdict)
        out.append(Finding(
            "fleet_origin_path_broken", "fleet", "fleet", CRITICAL,
            f"every node ({len(broken)}): the path to the bucket is broken — "
            f"{_plain(first, cause, expected, waited_s).replace('its ', 'the ', 1)}: shared "
            "configuration or the store itself",
            {**_evidence(first, cause, ref, fleet_explains, len(first.answers), None),
             "nodes": sorted(broken), "example_node": first_node}))
    return out


def _plain(canary: NodeCanary, cause: str, expected: str, waited_s: float) -> str:
    first = next(a for a in canary.answers if a["verdict"] == cause)
    shape = "HTML" if "<html" in (first["body_excerpt"] or "").lower() else "non-S3 answer"
    words = PLAIN["origin_hangs" if cause == "origin_unreachable"
                  and first["status_code"] is None else cause]
    return words.format(expected=expected, code=first["code"], shape=shape,
                        status=first["status_code"] or first["error"], waited=waited_s)


def _evidence(canary: NodeCanary, cause: str, ref: CanaryReference | None,
              explains: list[str], failed: int, cache: Hidden | None) -> PathEvidence:
    out = PathEvidence(cause=cause, requests=len(canary.answers), failed=failed,
                       expected=Expected(status_code=ref.status_code if ref else None,
                                         code=ref.code if ref else None),
                       answers=list(canary.answers), explains=explains)
    if cache:
        out["cache"] = cache
    return out
