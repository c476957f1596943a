"""The typed evidence of the run result's findings, for those above the analysis.

Each shape is declared beside the pass that writes it (analyze/nodes.py, origin_path.py,
rollup.py, types.py) and mirrored by the schema's ``$defs/*_evidence``, which a run is
validated against when loaded: so a reporter reading a loaded run's evidence can trust the
type of every key it finds (a run written by an older edgeprobe may lack keys). Reporters
may not import analyze/ (tests/test_architecture.py): they read the shapes from here.
"""

from __future__ import annotations

from edgeprobe.analyze.nodes import DnsEvidence, Example, FailureEvidence, SlowEvidence
from edgeprobe.analyze.origin_path import Expected, Hidden, PathEvidence
from edgeprobe.analyze.rollup import FleetExample, FleetWideEvidence
from edgeprobe.analyze.types import CanaryAnswer

__all__ = ["CanaryAnswer", "DnsEvidence", "Example", "Expected", "FailureEvidence",
           "FleetExample", "FleetWideEvidence", "Hidden", "PathEvidence", "SlowEvidence"]
