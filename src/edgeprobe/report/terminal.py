"""The terminal summary: the report's top (verdict, findings, nodes) in 80 columns."""

from __future__ import annotations

import textwrap

from edgeprobe.report import Reporter
from edgeprobe.report.shapes import FindingView, VantageMatrix, WhoRow
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import (
    AT_RISK,
    CRITICAL,
    DEGRADED,
    FAILING,
    HEALTHY,
    INFO,
    UNREACHABLE,
    WARNING,
)

COLOURS = {FAILING: "31;1", CRITICAL: "31;1", UNREACHABLE: "35;1", DEGRADED: "33;1",
           AT_RISK: "33", WARNING: "33;1", HEALTHY: "32", INFO: "36", "dim": "2"}
MAX_FINDINGS = 20


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


class TerminalReporter(Reporter):
    name = "terminal"

    def __init__(self, colour: bool = False, width: int = 80) -> None:
        self.colour = colour
        self.width = max(60, width)

    def paint(self, text: str, key: str) -> str:
        code = COLOURS.get(key)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def render(self, run: RunResult) -> str:
        from edgeprobe.report.view import build

        v = build(run)
        w = self.width
        word = v["verdict"]
        counts = v["counts"]
        lines = [
            f"edgeprobe: {self.paint(word.upper(), word)} — {v['site']['name']} "
            f"({v['site']['media_url']})",
            self.paint(f"{counts['nodes']} nodes × {counts['objects']} objects = "
                       f"{counts['checks']} checks in {v['duration_s']:.1f} s · "
                       f"{v['started_at']}", "dim"),
            "",
        ]
        for extra, key in ((v["tls_off"], WARNING), (v["incident"], word)):
            if extra:
                lines[2:2] = [self.paint(_fit(extra, w), key)]
        name_w = min(24, max([4, *(len(n["name"]) for n in v["nodes"])]))
        region_w = min(14, max([6, *(len(n["region"]) for n in v["nodes"])]))
        head = f"  {'NODE':<{name_w}} {'REGION':<{region_w}} {'STATUS':<11} {'FAIL':>6} " \
               f"{'P50ms':>6} {'P95ms':>6}  "
        lines.append(head + "ANSWERS")
        for n in v["nodes"]:
            status = n["status"]
            name = _fit(n["name"], name_w).ljust(name_w)
            region = _fit(n["region"], region_w).ljust(region_w)
            word = self.paint(status.ljust(11), status)
            fails = f"{n['failures']:>3}/{n['checks']:<2}"
            row = f"  {name} {region} {word} {fails} {_ms(n['p50']):>6} {_ms(n['p95']):>6}  "
            lines.append(row + _fit(n["answers"], max(8, w - len(head))))
        regions = " · ".join(f"{r['name']} {self.paint(r['status'], r['status'])}"
                             for r in v["regions"])
        lines += [f"  regions: {regions}", ""]
        lines += self._who(v["who"]) + self._vantages(v["vantages"])
        lines += self._findings(v["findings"])
        return "\n".join(lines) + "\n"

    def _vantages(self, m: VantageMatrix | None) -> list[str]:
        """A merged run: each node's status from each vantage, one line per node."""
        if not m:
            return []
        out = ["Node × vantage:"]
        for row in m["rows"]:
            cells = ", ".join(f"{name} {self.paint(c['status'], c['status'])}"
                              for name, c in zip(m["vantages"], row["cells"], strict=True))
            out.append(f"  {_fit(row['node'], 24)}: {cells}")
        return [*out, ""]

    def _who(self, rows: list[WhoRow]) -> list[str]:
        """Who gets which edge (GeoDNS views): one line per view, 80 columns."""
        if not rows:
            return []
        out = ["Who gets which edge (GeoDNS):"]
        for row in rows:
            out.append(_fit(f"  users in {row['view']} ({row['subnets']}) get:", self.width))
            out += [f"    {_fit(e['node'], self.width - 18)} {self.paint(e['status'], e['status'])}"
                    for e in row["edges"]] or [f"    {_fit(row['error'] or 'no answer', 60)}"]
        return [*out, ""]

    def _findings(self, findings: list[FindingView]) -> list[str]:
        if not findings:
            return [self.paint("No findings: every node serves what is in the bucket.", HEALTHY)]
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
            for command in (f["curl"], f["curl_body"]):
                if command:
                    lines.append(self.paint(f"    $ {command}", "dim"))
        if len(findings) > MAX_FINDINGS:
            lines.append(f"  … and {len(findings) - MAX_FINDINGS} more (see --json/--html)")
        return lines
