"""edgeprobe: ask every CDN edge of a site, one by one, whether it serves what is in the bucket.

The library surface (what a Python user may import and rely on; the rest is private):

    from edgeprobe import load_config, probe, Scope
    settings = load_config("probes/site.toml")
    run = probe(settings, Scope.region("us-west"), state=".edgeprobe/state.json")

``probe`` returns the run result (docs/run-result.md); ``load_run`` reads a saved one,
``render`` turns one into ``json``, ``html``, ``markdown`` or ``terminal`` text. Names are
imported on first use, so ``import edgeprobe`` (and ``edgeprobe --help``) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "probe": ("edgeprobe.pipeline", "probe"),
    "probe_async": ("edgeprobe.pipeline", "probe_async"),
    "Scope": ("edgeprobe.pipeline", "Scope"),
    "load_config": ("edgeprobe.config", "load"),
    "Settings": ("edgeprobe.settings", "Settings"),
    "load_run": ("edgeprobe.run_result", "load"),
    "parse_run": ("edgeprobe.run_result", "parse"),
    "run_json": ("edgeprobe.run_result", "dump"),
    "RunResult": ("edgeprobe.run_types", "RunResult"),
    "exit_status": ("edgeprobe.run_result", "exit_status"),
    "EdgeprobeError": ("edgeprobe.errors", "EdgeprobeError"),
    "ConfigError": ("edgeprobe.errors", "ConfigError"),
    "ProbeError": ("edgeprobe.errors", "ProbeError"),
    "RunFileError": ("edgeprobe.errors", "RunFileError"),
}
__all__ = ["__version__", "render", *_EXPORTS]


def render(run: Any, fmt: str, **options: Any) -> str:
    """A run result (a RunResult) as ``json``, ``html``, ``markdown`` or ``terminal`` text."""
    from edgeprobe.report import reporter

    return reporter(fmt, **options).render(run)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'edgeprobe' has no attribute {name!r}")
