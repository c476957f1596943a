"""The terminal summary: the report's top (verdict, findings, nodes) in 80 columns."""

from __future__ import annotations

import textwrap
from typing import Any

from edgeprobe.report import Run, verdict

COLOURS = {"failing": "31;1", "critical": "31;1", "unreachable": "35;1", "degraded": "33;1",
           "warning": "33;1", "healthy": "32", "info": "36", "dim": "2"}
MAX_FINDINGS = 20


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _codes(node: dict[str, Any]) -> str:
    codes = node.get("status_codes") or {}
    if node.get("error"):
        return "no address"
    parts = [f"{c}×{n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])]
    errors = {v: n for v, n in (node.get("verdicts") or {}).items()
              if v in ("unreachable", "tls_error", "timeout", "protocol_error")}
    parts += [f"{v}×{n}" for v, n in errors.items()]
    return " ".join(parts) or "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


class TerminalReporter:
    name = "terminal"

    def __init__(self, colour: bool = False, width: int = 80) -> None:
        self.colour = colour
        self.width = max(60, width)

    def paint(self, text: str, key: str) -> str:
        code = COLOURS.get(key)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def render(self, run: Run) -> str:
        w = self.width
        site = run.get("site", {})
        counts = run.get("counts", {})
        word = verdict(run)
        lines = [
            f"edgeprobe: {self.paint(word.upper(), word)} — {site.get('name')} "
            f"({site.get('media_url')})",
            self.paint(f"{counts.get('nodes', len(run['nodes']))} nodes × "
                       f"{counts.get('objects', len(run['objects']))} objects = "
                       f"{counts.get('checks', '?')} checks in {run.get('duration_s', 0):.1f} s · "
                       f"{run.get('started_at', '')}", "dim"),
            "",
        ]
        from edgeprobe.report.view import incident_line

        since = incident_line(run)
        if since:
            lines[2:2] = [self.paint(since, word)]
        name_w = min(24, max([4, *(len(n["name"]) for n in run["nodes"])]))
        region_w = min(14, max([6, *(len(n["region"]) for n in run["nodes"])]))
        head = f"  {'NODE':<{name_w}} {'REGION':<{region_w}} {'STATUS':<11} {'FAIL':>6} " \
               f"{'P50ms':>6} {'P95ms':>6}  "
        lines.append(head + "ANSWERS")
        for n in run["nodes"]:
            lat = n.get("latency_ms") or {}
            status = n["status"]
            name = _fit(n["name"], name_w).ljust(name_w)
            region = _fit(n["region"], region_w).ljust(region_w)
            word = self.paint(status.ljust(11), status)
            fails = f"{n['failures']:>3}/{n['checks']:<2}"
            row = (f"  {name} {region} {word} {fails} {_ms(lat.get('p50')):>6} "
                   f"{_ms(lat.get('p95')):>6}  ")
            lines.append(row + _fit(_codes(n), max(8, w - len(head))))
        regions = " · ".join(f"{r['name']} {self.paint(r['status'], r['status'])}"
                             for r in run.get("regions", []))
        lines += [f"  regions: {regions}", ""]
        lines += self._findings(run)
        return "\n".join(lines) + "\n"

    def _findings(self, run: Run) -> list[str]:
        findings = run["findings"]
        if not findings:
            return [self.paint("No findings: every node serves what is in the bucket.", "healthy")]
        tally: dict[str, int] = {}
        for f in findings:
            tally[f["severity"]] = tally.get(f["severity"], 0) + 1
        lines = ["Findings (" + ", ".join(f"{n} {s}" for s, n in tally.items()) + "):"]
        for f in findings[:MAX_FINDINGS]:
            sev = f["severity"]
            head = f"  {self.paint(sev.upper(), sev)} {f['kind']} →"
            if len(f"  {sev.upper()} {f['kind']} → {f['target']}") <= self.width:
                lines.append(f"{head} {f['target']}")
            else:  # a long target (an object path) gets its own line
                lines += [head, f"    {f['target']}"]
            lines += textwrap.wrap(f["summary"], self.width - 4, initial_indent="    ",
                                   subsequent_indent="    ")
            examples = f.get("evidence", {}).get("examples") or []
            if examples and examples[0].get("curl") and sev != "info":
                lines.append(self.paint(f"    $ {examples[0]['curl']}", "dim"))
        if len(findings) > MAX_FINDINGS:
            lines.append(f"  … and {len(findings) - MAX_FINDINGS} more (see --json/--html)")
        return lines
