"""GitHub-flavoured Markdown for $GITHUB_STEP_SUMMARY, issues and chat.

Always under ``limit`` bytes (GitHub refuses issue bodies over 65,536 characters): the
matrix, then the tables, then the reproduce commands are cut first; when the findings
alone would not fit they are grouped by kind, and what still does not fit is counted
("N more in the report"), never silently dropped.
"""

from __future__ import annotations

import re

from edgeprobe.report import Reporter
from edgeprobe.report.shapes import FindingView, ReportView
from edgeprobe.report.view import build
from edgeprobe.result.types import RunResult
from edgeprobe.vocabulary import (
    AT_RISK,
    CACHED,
    CRITICAL,
    DEGRADED,
    FAILING,
    GONE,
    HEALTHY,
    INFO,
    OK,
    UNREACHABLE,
    UNVERIFIED,
    WARNING,
)

LIMIT = 64 * 1024 - 512
ICON = {FAILING: "🔴", CRITICAL: "🔴", DEGRADED: "🟠", WARNING: "🟠", AT_RISK: "🟡",
        HEALTHY: "🟢", UNREACHABLE: "🟣", INFO: "🔵"}
MATRIX_CELL = {OK: "·", GONE: "–", CACHED: "c", UNVERIFIED: "?"}
AFFECTED_MAX = 2000
_BACKTICKS = re.compile(r"`+")
_WORD = re.compile(r"[a-z][a-z0-9_]{0,63}")


def md(text: object) -> str:
    """Escape text that may come from a remote server for a table cell or a line: no markup,
    no HTML, no @mention (a word joiner after '@' keeps GitHub from pinging anyone)."""
    out = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "<>`*_[]~#!":
        out = out.replace(ch, "\\" + ch)
    return out.replace("@", "@\u2060")


def word(text: object) -> str:
    """A word from the vocabulary (a kind, a status) as inline code; anything that is not
    one plain word (a hand-made run file) is escaped text instead: no code span to break."""
    s = str(text)
    return f"`{s}`" if _WORD.fullmatch(s) else md(s)


def fence(code: str, info: str = "sh") -> list[str]:
    """A fenced code block whose fence is longer than any backtick run inside, so the
    command is shown exactly as it is (a paste runs what edgeprobe quoted, nothing else)."""
    longest = max((len(m) for m in _BACKTICKS.findall(code)), default=0)
    bar = "`" * max(3, longest + 1)
    return [f"{bar}{info}", code, bar]


def _size(lines: list[str]) -> int:
    return len("\n".join(lines).encode()) + 1


def _finding_line(f: FindingView) -> str:
    state = f" ({md(f['state'])})" if f["state"] else ""
    return (f"- {ICON.get(f['severity'], '')} **{md(f['severity'])}** {word(f['kind'])} → "
            f"**{md(f['target'])}**{state}: {md(f['summary'])}")


def findings_block(findings: list[FindingView], budget: int) -> list[str]:
    """Every finding on its own line when they fit; else one line per (severity, kind)
    naming as many targets as fit; what is left is counted, never dropped unsaid."""
    lines = [_finding_line(f) for f in findings]
    if _size(lines) <= budget:
        return lines
    groups: dict[tuple[str, str], list[FindingView]] = {}
    for f in findings:
        groups.setdefault((f["severity"], f["kind"]), []).append(f)
    share = max(200, (budget - 100) // max(1, len(groups)) - 2)
    out: list[str] = []
    for (severity, kind), group in groups.items():
        head = f"- {ICON.get(severity, '')} **{md(severity)}** {word(kind)} × {len(group)}: "
        names: list[str] = []
        for f in group:
            if len(head) + len(", ".join([*names, md(f["target"])])) + 40 > share:
                break
            names.append(md(f["target"]))
        rest = len(group) - len(names)
        out.append(head + ", ".join(names) + (f" and {rest} more in the report" if rest else ""))
    kept: list[str] = []
    for i, line in enumerate(out):
        if _size([*kept, line]) + 80 > budget:
            left = sum(len(g) for g in list(groups.values())[i:])
            kept.append(f"- … {left} more findings in the report")
            break
        kept.append(line)
    return kept


class MarkdownReporter(Reporter):
    name = "markdown"

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit

    def render(self, run: RunResult) -> str:
        v = build(run)
        head = [f"## {ICON.get(v['verdict'], '')} edgeprobe: {md(v['verdict'].upper())} — "
                f"{md(v['site']['name'])}", "", md(v["headline"]), ""]
        if v["affected"]:
            affected = md("; ".join(v["affected"]))
            if len(affected) > AFFECTED_MAX:
                affected = affected[:AFFECTED_MAX] + " … (all of them in the report)"
            head += [f"**Affected:** {affected}", ""]
        if v["incident"]:  # edgeprobe's words around a run file's date: escaped
            head += [f"**{md(v['incident'])}**", ""]
        if v["tls_off"]:  # edgeprobe's own words only
            head += [f"**{v['tls_off']}**", ""]
        head += [f"_{md(v['started_at'])} · {v['counts']['nodes']} nodes × "
                 f"{v['counts']['objects']} objects in {md(v['duration_s'])} s · "
                 f"{md(v['site']['media_url'])}_", ""]
        if v["vantages"] and v["vantages"]["disagree"]:  # vantages disagree: the matrix leads
            head += self._vantages(v)
        if v["who_first"]:  # a view is affected: who gets which edge leads
            head += self._who(v)
        findings = ["### Findings", ""]
        if not v["findings"]:
            findings.append("No findings: every node serves what is in the bucket.")
        budget = self.limit - _size(head) - 200
        findings += [*findings_block(v["findings"], budget), ""]
        text = "\n".join(head + findings)
        later = [] if v["who_first"] else self._who(v)
        for block in (self._reproduce(v), later, self._regions(v), self._nodes(v)):
            candidate = "\n".join(block)
            if block and len((text + "\n" + candidate).encode()) < self.limit - 200:
                text += "\n" + candidate
        return text + "\n" + self._matrix(v, self.limit - len(text.encode()) - 2) + "\n"

    @staticmethod
    def _reproduce(v: ReportView) -> list[str]:
        out = ["<details><summary>reproduce</summary>", ""]
        for f in v["findings"]:
            for command in (f["curl"], f["curl_body"]):
                if command:
                    out += [f"{md(f['target'])}:", "", *fence(command), ""]
        return [*out, "</details>", ""] if len(out) > 2 else []

    @staticmethod
    def _vantages(v: ReportView) -> list[str]:
        m = v["vantages"]
        if m is None:
            return []
        names = [md(n) + (" (degraded)" if d else "") for n, d in
                 zip(m["vantages"], m["degraded"], strict=True)]
        rows = [f"| {md(r['node'])} | " + " | ".join(
            f"{ICON.get(c['status'], '')} {md(c['status'])} {c['ms']} ms" for c in r["cells"])
            + " |"
            for r in m["rows"]]
        return ["### Node × vantage", "", f"| node | {' | '.join(names)} |",
                "|---|" + "---|" * len(names), *rows, ""]

    @staticmethod
    def _who(v: ReportView) -> list[str]:
        if not v["who"]:
            return []
        rows = [f"| {md(r['view'])} | {md(r['subnets'])} | "
                + (", ".join(f"{md(e['node'])} ({md(e['status'])})" for e in r["edges"])
                   or md(r["error"] or "no answer"))
                + f" | {ICON.get(r['status'], '')} {md(r['status'])} |" for r in v["who"]]
        return ["### Who gets which edge (GeoDNS)", "", "| view | subnets | gets | status |",
                "|---|---|---|---|", *rows, ""]

    @staticmethod
    def _regions(v: ReportView) -> list[str]:
        rows = [f"| {md(r['name'])} | {ICON.get(r['status'], '')} {md(r['status'])} | "
                + ", ".join(f"{md(n['name'])} ({md(n['status'])})" for n in r["members"]) + " |"
                for r in v["regions"]]
        return ["### Regions", "", "| region | status | nodes |", "|---|---|---|", *rows]

    @staticmethod
    def _nodes(v: ReportView) -> list[str]:
        out = ["", "### Nodes", "",
               "| node | region | status | fail/checks | answers | p50 ms | p95 ms | cache hits "
               "| path to bucket |",
               "|---|---|---|---:|---|---:|---:|---:|---|"]
        for n in v["nodes"]:
            p50 = "-" if n["p50"] is None else n["p50"]
            p95 = "-" if n["p95"] is None else n["p95"]
            out.append(f"| {md(n['name'])} | {md(n['region'])} | {ICON.get(n['status'], '')} "
                       f"{md(n['status'])} | {n['failures']}/{n['checks']} | "
                       f"{md(n['codes'] or '-')} | {md(p50)} | {md(p95)} | "
                       f"{md(n['cache_hits'])} | "
                       f"{md(n['bucket_path'])} |")
        return out

    @staticmethod
    def _matrix(v: ReportView, budget: int) -> str:
        objects = v["objects"]
        header = ["", "### Checks (· ok, – not in bucket, else status code)", ""]
        lines: list[str] = []
        shown = len(objects)
        while shown > 0:
            lines = [f"| node | {' | '.join(str(i + 1) for i in range(shown))} |",
                     "|---|" + "---|" * shown]
            for row in v["matrix"]:
                cells = [MATRIX_CELL.get(c["verdict"], md(c["label"]))
                         for c in row["cells"][:shown]]
                lines.append(f"| {md(row['node'])} | {' | '.join(cells)} |")
            if shown < len(objects):
                lines.append(f"\n_matrix cut to {shown} of {len(objects)} objects to stay under "
                             "64 KiB; the HTML report and JSON have all of them._")
            if len("\n".join(header + lines).encode()) < budget:
                return "\n".join(header + lines)
            shown = shown // 2 if shown > 8 else shown - 1
        return "\n_matrix left out to stay under 64 KiB; see the HTML report._" if budget > 100 \
            else ""
