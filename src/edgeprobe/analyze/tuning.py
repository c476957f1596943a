"""The analysis' own constants: how far is "far above its peers", how much evidence a finding
carries. Not settings: the probe file's knobs (slow_ms, cert_warn_days, …) are in
config/defaults.py; these are the judgement's internals, tested by analysis tables."""

from __future__ import annotations

# A node is "far above its peers" when its median latency is this many times theirs
# and at least half of slow_ms (loopback noise of a few ms is not a finding).
SLOW_PEER_FACTOR = 4.0
# "over slow_ms" needs at least this many answers over it, and this share of the node's
# answers: a loaded prober delays one or two answers at random, a slow edge many.
SLOW_MIN_OVER = 2
SLOW_SHARE = 0.2
# ... and, where peers were measured, a p95 this many times theirs (a busy prober or a slow
# bucket slows every edge alike: fleet_slow, info)
SLOW_GAP = 2.0
# Bodies this large are timed to their first byte: their transfer measures the prober too.
LARGE_BODY_BYTES = 1024 * 1024

EXAMPLES_IN_EVIDENCE = 5  # failing checks quoted in one finding's evidence

NEVER_CACHES_RUNS = 3  # runs in a row without a cache hit (while peers hit) → a warning
