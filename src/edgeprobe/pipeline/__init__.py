"""The pipeline API: the one way in for every caller (CLI, action, demo, tests).

    probe(settings, Scope.all() | Scope.node(name) | Scope.region(name),
          state=PATH, progress=FN, outputs=FN) -> run result

config → resolve → sample → origin ∥ fetch → analyze → run result, plus the incident state
when ``state`` is given. The rules that callers used to decide each on their own live here:
the scope narrows the fleet (a ProbeError names what exists), and a partial run never
touches the incident state (it would resolve every node it did not probe) — the run says
so in ``warnings`` instead; and the state is saved last, after ``outputs`` wrote the run's
reports. Remote failures are findings, never exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from edgeprobe.config import defaults
from edgeprobe.config.settings import IncidentSettings, Settings
from edgeprobe.errors import ProbeError
from edgeprobe.pipeline.run import ProgressFn, probe_run
from edgeprobe.result.types import RunResult

OutputsFn = Callable[[RunResult], object]  # writes the run's outputs (reports, files)
PARTIAL_STATE = "partial run: incident state left unchanged (it tracks the whole fleet)"


@dataclass(frozen=True)
class Scope:
    """What part of the fleet a run probes: ``all``, one ``node`` or one ``region``."""

    kind: str = "all"
    name: str | None = None

    @classmethod
    def all(cls) -> Scope:
        return cls()

    @classmethod
    def node(cls, name: str) -> Scope:
        return cls("node", name)

    @classmethod
    def region(cls, name: str) -> Scope:
        return cls("region", name)

    @classmethod
    def of(cls, node: str | None = None, region: str | None = None) -> Scope:
        """From the CLI's and the action's optional --node / --region."""
        return cls.node(node) if node else cls.region(region) if region else cls.all()

    @property
    def partial(self) -> bool:
        return self.kind != "all"

    def select(self, settings: Settings) -> Settings:
        """The settings narrowed to this scope (a ProbeError names what exists)."""
        if self.kind == "node":
            chosen = tuple(n for n in settings.nodes if n.name == self.name)
            if not chosen:
                names = ", ".join(n.name for n in settings.nodes)
                raise ProbeError(f"no node named {self.name!r} in {settings.source} "
                                 f"(nodes: {names})")
            return replace(settings, nodes=chosen)
        if self.kind == "region":
            chosen = tuple(n for n in settings.nodes if n.region == self.name)
            if not chosen:
                regions = ", ".join(settings.regions())
                raise ProbeError(f"no region named {self.name!r} in {settings.source} "
                                 f"(regions: {regions})")
            return replace(settings, nodes=chosen)
        return settings


def probe(settings: Settings, scope: Scope | None = None, *, state: str | Path | None = None,
          progress: ProgressFn | None = None, vantage: str | None = None,
          outputs: OutputsFn | None = None) -> RunResult:
    """Run the pipeline (blocking) and return the run result; see the module docstring."""
    return asyncio.run(probe_async(settings, scope, state=state, progress=progress,
                                   vantage=vantage, outputs=outputs))


def merge(paths: Sequence[str], *, state: str | Path | None = None,
          confirm_runs: int | None = None, policy: IncidentSettings | None = None,
          max_spread_s: float = defaults.MERGE_MAX_SPREAD_S,
          outputs: OutputsFn | None = None, expect: Sequence[str] = ()) -> RunResult:
    """Several vantages' saved runs of one probe file → one merged run (run@2), checked
    and judged together (merge/); with ``state``, the incident is kept once for all, by
    ``policy`` (the probe file's [incident]; defaults without one), ``confirm_runs``
    overriding its own. A finding a vantage confirmed by re-test is confirmed."""
    from edgeprobe import incident
    from edgeprobe.fileio import check_state, held
    from edgeprobe.merge.runs import load_runs, merged_run

    run = merged_run(load_runs(paths, max_spread_s))
    seen = {v.name for v in run.vantages or ()}
    missing = [v for v in dict.fromkeys(expect) if v not in seen]
    if missing:  # late (past the workflow's deadline) or failed: named, the rest merged
        run = replace(run, warnings=(*(run.warnings or ()), *(
            f"vantage {v} sent no run (late or failed): merged without it" for v in missing)))
    if state is None:
        return _finish(run, outputs, None)
    check_state(state)
    with held(state):
        rules = policy or IncidentSettings()
        if confirm_runs is not None:
            rules = replace(rules, confirm_runs=confirm_runs)
        run, warning, save = incident.apply(run, state, rules)
        if warning:
            run = replace(run, warnings=(*(run.warnings or ()), warning))
        return _finish(run, outputs, save)


def _finish(run: RunResult, outputs: OutputsFn | None, save: Callable[[], None] | None
            ) -> RunResult:
    """The run's outputs first, the incident state last: a failed write (or a kill) in
    between leaves the state as it was, and the next run declares again."""
    if outputs is not None:
        outputs(run)
    if save is not None:
        save()
    return run


def vantage_name(given: str | None = None) -> str:
    """Where a run probes from: ``given`` (--vantage), else $EDGEPROBE_VANTAGE, else the
    host name. A ProbeError for a name merge could not tell apart or show safely."""
    import os
    import platform
    import re

    name = given or os.environ.get("EDGEPROBE_VANTAGE") or platform.node() or "unknown"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ProbeError(f"vantage name {name!r}: use up to 64 letters, digits, '.', '_', '-'")
    return name


async def probe_async(settings: Settings, scope: Scope | None = None, *,
                      state: str | Path | None = None,
                      progress: ProgressFn | None = None, vantage: str | None = None,
                      outputs: OutputsFn | None = None) -> RunResult:
    """``probe`` for callers that have an event loop."""
    from edgeprobe.fileio import check_state, held

    scope = scope or Scope.all()
    where = vantage_name(vantage)
    chosen = scope.select(settings)
    if state is None or scope.partial:
        return await _probe(settings, chosen, scope, state, progress, where, outputs)
    check_state(state)  # before probing: a run must not be lost to a bad state path
    with held(state):  # one run per state file at a time
        return await _probe(settings, chosen, scope, state, progress, where, outputs)


async def _probe(settings: Settings, chosen: Settings, scope: Scope, state: str | Path | None,
                 progress: ProgressFn | None, where: str, outputs: OutputsFn | None
                 ) -> RunResult:
    from edgeprobe import incident

    tracked = state is not None and not scope.partial
    # the state is read once, before the run: its cache history feeds node_never_caches
    loaded = incident.load_state(state, settings.site.name) if tracked and state else None
    history = dict(loaded[0].get("cache_no_hit_runs", {})) if loaded else {}
    known = set(loaded[0]["findings"]) if loaded else set()  # what the last run saw failing
    run = replace(await probe_run(chosen, scope, progress, history, known), vantage=where)
    save = None
    if state is not None:
        warning: str | None = PARTIAL_STATE
        if tracked:
            run, warning, save = incident.apply(run, state, settings.incident, loaded)
        if warning:
            run = replace(run, warnings=(*(run.warnings or ()), warning))
    return _finish(run, outputs, save)
