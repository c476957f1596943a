"""GitHub-flavoured Markdown for $GITHUB_STEP_SUMMARY and chat: under 64 KiB, always with
every finding (the matrix and tables are what get cut)."""

from __future__ import annotations

from edgeprobe.report import Run
from edgeprobe.report.view import build

LIMIT = 64 * 1024 - 512  # GitHub refuses step summaries over 1 MiB; chat tools far less
ICON = {"failing": "🔴", "critical": "🔴", "degraded": "🟠", "warning": "🟠", "healthy": "🟢",
        "unreachable": "🟣", "info": "🔵"}
MATRIX_CELL = {"ok": "·", "gone": "–", "cached": "c", "unverified": "?"}


def md(text: object) -> str:
    """Escape text from remote servers for a table cell or a line: no markup, no HTML."""
    out = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "<>`*_[]":
        out = out.replace(ch, "\\" + ch)
    return out


class MarkdownReporter:
    name = "markdown"

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit

    def render(self, run: Run) -> str:
        v = build(run)
        site = run["site"]
        head = [f"## {ICON[v['verdict']]} edgeprobe: {v['verdict'].upper()} — {md(site['name'])}",
                "", f"{md(v['headline'])}", ""]
        if v["affected"]:
            head += [f"**Affected:** {md('; '.join(v['affected']))}", ""]
        if v["incident"]:
            head += [f"**{md(v['incident'])}**", ""]
        head += [f"_{run['started_at']} · {run['counts']['nodes']} nodes × "
                 f"{run['counts']['objects']} objects in {run['duration_s']} s · "
                 f"{md(site['media_url'])}_", ""]
        findings = ["### Findings", ""]
        if not v["findings"]:
            findings.append("No findings: every node serves what is in the bucket.")
        for f in v["findings"]:
            state = f" ({f['state']})" if f.get("state") else ""
            findings.append(f"- {ICON.get(f['severity'], '')} **{f['severity']}** "
                            f"`{f['kind']}` → **{md(f['target'])}**{state}: {md(f['summary'])}")
        findings.append("")
        reproduce = ["<details><summary>reproduce</summary>", ""]
        for f in v["findings"]:
            examples = (f.get("evidence") or {}).get("examples") or []
            if examples and examples[0].get("curl") and f["severity"] != "info":
                reproduce += [f"{md(f['target'])}:", "```", examples[0]["curl"].replace("`", "'"),
                              "```"]
        reproduce += ["", "</details>", ""]
        regions = ["### Regions", "", "| region | status | nodes |", "|---|---|---|"]
        regions += [f"| {md(r['name'])} | {ICON[r['status']]} {r['status']} | "
                    + ", ".join(f"{md(n['name'])} ({n['status']})" for n in r["members"]) + " |"
                    for r in v["regions"]]
        nodes = ["", "### Nodes", "",
                 "| node | region | status | fail/checks | answers | p50 ms | p95 ms |",
                 "|---|---|---|---:|---|---:|---:|"]
        for n in v["nodes"]:
            lat = n.get("latency_ms") or {}
            nodes.append(f"| {md(n['name'])} | {md(n['region'])} | {ICON[n['status']]} "
                         f"{n['status']} | {n['failures']}/{n['checks']} | {md(n['codes'] or '-')}"
                         f" | {lat.get('p50') if lat.get('p50') is not None else '-'} | "
                         f"{lat.get('p95') if lat.get('p95') is not None else '-'} |")
        text = "\n".join(head + findings)
        for block in (reproduce, regions, nodes):  # each only while it fits
            candidate = "\n".join(block)
            if len((text + candidate).encode()) < self.limit:
                text += "\n" + candidate
        return text + "\n" + self._matrix(v, self.limit - len(text.encode())) + "\n"

    def _matrix(self, v: dict, budget: int) -> str:
        objects = v["objects"]
        header = ["", "### Checks (· ok, – not in bucket, else status code)", ""]
        lines: list[str] = []
        shown = len(objects)
        while shown > 0:
            cols = range(shown)
            lines = [f"| node | {' | '.join(str(i + 1) for i in cols)} |",
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
