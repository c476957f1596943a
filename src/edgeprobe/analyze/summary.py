"""Per-node summaries and comparisons: the numbers the reports show, decided here once.

Reports only read these (status, latency, cache-hit share, the headers in which a node
differs from the fleet, whether a check's size and MD5 matched); saved runs from before a
field existed get it from the same functions when they are loaded (run_result.load).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from edgeprobe.analyze.cache import cache_summary
from edgeprobe.analyze.stats import latency_summary, percentile
from edgeprobe.analyze.types import Check, NodeSummary, Reference
from edgeprobe.vocabulary import FAILURE_KINDS

# The response headers recorded per node (its most common value), and compared with the
# fleet's: what tells one misconfigured edge from the others.
SHOWN_HEADERS = ("Server", "Cache-Control", "Via", "X-Cache-Status", "X-Cache", "Content-Type")
# Each phase's median, in ms from the request's start (a new connection's connect and TLS
# phases; every answer's first byte and end): blackbox_exporter's probe_http_duration_seconds.
PHASES = (("connect", "connect_ms"), ("tls", "tls_ms"), ("first_byte", "first_byte_ms"),
          ("transfer", "transfer_ms"), ("total", "total_ms"))


def _dominant(values: Sequence[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    return Counter(present).most_common(1)[0][0] if present else None


def summarise(checks: Sequence[Check]) -> NodeSummary:
    """One node's numbers from its checks (answers only where a status came back)."""
    done = [c.fetch for c in checks if c.fetch.status_code]
    cache = cache_summary(done)
    return NodeSummary(
        checks=len(checks),
        failures=sum(1 for c in checks if c.verdict in FAILURE_KINDS),
        latency_ms=latency_summary([f.timing.total_ms for f in done
                                    if f.timing.total_ms is not None]),
        status_codes=dict(Counter(str(f.status_code) for f in done)),
        verdicts=dict(Counter(c.verdict for c in checks)),
        cache_hit_share=cache["hit_share"],
        headers={h: _dominant([f.headers.get(h) for f in done]) for h in SHOWN_HEADERS},
        phases_ms={phase: percentile([v for f in done if (v := getattr(f.timing, attr))
                                      is not None], 50)
                   for phase, attr in PHASES},
        cache=cache)


Headers = Mapping[str, str | None]  # a shown header's usual value on a node (None: absent)


def fleet_headers(headers_by_node: Mapping[str, Headers]) -> dict[str, str | None]:
    """The fleet's usual value of each shown header: the most common among the nodes that
    were checked (absent counts as a value: most nodes sending none is the usual)."""
    out: dict[str, str | None] = {}
    for h in SHOWN_HEADERS:
        common = Counter(headers.get(h) for headers in headers_by_node.values()).most_common(1)
        out[h] = common[0][0] if common else None
    return out


def header_diffs(headers: Headers, fleet: Headers) -> dict[str, str | None]:
    """The shown headers in which one node differs from the fleet."""
    return {h: headers.get(h) for h in SHOWN_HEADERS if headers.get(h) != fleet.get(h)}


def matches(status_code: int | None, size: int | None, md5: str | None, ref_size: int | None,
            ref_md5: str | None) -> tuple[bool | None, bool | None]:
    """(size matches the reference, MD5 matches it) for one check; None: nothing to compare
    (not a 200, or no reference value)."""
    size_ok = size == ref_size if status_code == 200 else None
    md5_ok = md5 == ref_md5 if ref_md5 and md5 else None
    return size_ok, md5_ok


def check_matches(check: Check, ref: Reference) -> tuple[bool | None, bool | None]:
    f = check.fetch
    return matches(f.status_code, f.size, f.md5, ref.size, ref.md5)
