"""Small numeric helpers shared by the analysis and the reports."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 2)


Latency = dict[str, float | None]  # p50, p95, max (ms)


def latency_summary(values: Sequence[float]) -> Latency:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95),
            "max": round(max(values), 2) if values else None}


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
