"""Tell people about incidents: a GitHub issue, Discord and Slack webhooks.

GitHub follows the *desired* state (an open incident has exactly one open issue; a closed
one has none), so a failed call is retried by the next run. Webhooks speak only on a change
(declared, updated, resolved). A failure is recorded as a warning, never raised, and no
token or webhook URL is ever printed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeprobe.report import verdict

ISSUE_BODY_MAX = 60_000  # GitHub refuses bodies over 65,536 characters
CHAT_MAX = 1_900  # Discord's content limit is 2,000


@dataclass(frozen=True)
class Channels:
    github_token: str | None = None
    github_repo: str | None = None
    github_api: str = "https://api.github.com"
    discord: str | None = None
    slack: str | None = None
    run_url: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Channels:
        run_url = None
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            run_url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        return cls(github_token=env.get("GITHUB_TOKEN") or None,
                   github_repo=env.get("GITHUB_REPOSITORY") or None,
                   github_api=(env.get("GITHUB_API_URL") or cls.github_api).rstrip("/"),
                   discord=env.get("EDGEPROBE_DISCORD_WEBHOOK") or None,
                   slack=env.get("EDGEPROBE_SLACK_WEBHOOK") or None, run_url=run_url,
                   timeout_s=float(env.get("EDGEPROBE_NOTIFY_TIMEOUT_S") or cls.timeout_s))


@dataclass(frozen=True)
class Delivery:
    channel: str
    action: str
    ok: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "action": self.action, "ok": self.ok,
                "error": self.error}


class _Failed(Exception):
    """One HTTP call failed; the message is safe to show (no URL, no token)."""


def failing_targets(run: dict[str, Any]) -> list[str]:
    confirmed = (run.get("incident") or {}).get("confirmed") or []
    return list(dict.fromkeys(f["target"] for f in confirmed)) or \
        [f["target"] for f in run["findings"] if f["severity"] == "critical"]


def issue_title(run: dict[str, Any]) -> str:
    targets = failing_targets(run)
    shown = ", ".join(targets[:4]) + (f" and {len(targets) - 4} more" if len(targets) > 4 else "")
    return f"edgeprobe: {run['site']['name']} — {shown or 'edges'} {verdict(run)}"[:200]


def chat_text(run: dict[str, Any], change: str, run_url: str | None) -> str:
    site = run["site"]["name"]
    head = {"declared": f"🔴 {site}: incident declared — {', '.join(failing_targets(run))}",
            "updated": f"🟠 {site}: incident updated — {', '.join(failing_targets(run))}",
            "resolved": f"🟢 {site}: resolved — every node serves what is in the bucket"}[change]
    lines = [head]
    if change != "resolved":
        lines += [f"• {f['severity']}: {f['summary']}" for f in run["findings"]
                  if f["severity"] in ("critical", "warning")][:8]
    if run_url:
        lines.append(run_url)
    text = "\n".join(lines)
    return text if len(text) <= CHAT_MAX else text[: CHAT_MAX - 1] + "…"


def _issue_body(run: dict[str, Any], run_url: str | None) -> str:
    from edgeprobe.report.markdown import MarkdownReporter

    body = MarkdownReporter(limit=ISSUE_BODY_MAX - 500).render(run)
    return body + (f"\n[Workflow run]({run_url})\n" if run_url else "")


async def _call(session: Any, method: str, url: str, what: str, **kwargs: Any) -> Any:
    import aiohttp

    try:
        async with session.request(method, url, **kwargs) as resp:
            if resp.status >= 400:
                raise _Failed(f"{what}: HTTP {resp.status}")
            if resp.content_type == "application/json":
                return await resp.json()
            return None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise _Failed(f"{what}: {type(exc).__name__}") from exc


async def _github(session: Any, ch: Channels, run: dict[str, Any],
                  state: dict[str, Any]) -> list[Delivery]:
    inc, saved = run.get("incident") or {}, state["incident"]
    repo = f"{ch.github_api}/repos/{ch.github_repo}"
    headers = {"Authorization": f"Bearer {ch.github_token}",
               "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    out = []
    try:
        if inc.get("state") == "open" and saved.get("issue") is None:
            issue = await _call(session, "POST", f"{repo}/issues", "github: open issue",
                                headers=headers, json={"title": issue_title(run),
                                                       "body": _issue_body(run, ch.run_url),
                                                       "labels": ["edgeprobe", "incident"]})
            saved["issue"] = int(issue["number"])
            out.append(Delivery("github", "opened", True))
        elif inc.get("state") == "open" and inc.get("change") == "updated":
            await _call(session, "POST", f"{repo}/issues/{saved['issue']}/comments",
                        "github: comment", headers=headers,
                        json={"body": "**Incident updated.**\n\n" + _issue_body(run, ch.run_url)})
            out.append(Delivery("github", "commented", True))
        elif inc.get("state") != "open" and saved.get("issue") is not None:
            number = saved["issue"]
            await _call(session, "POST", f"{repo}/issues/{number}/comments", "github: comment",
                        headers=headers, json={"body": "**Resolved**: every node serves what "
                                               "is in the bucket again." + (
                                                   f"\n\n[Workflow run]({ch.run_url})"
                                                   if ch.run_url else "")})
            await _call(session, "PATCH", f"{repo}/issues/{number}", "github: close issue",
                        headers=headers, json={"state": "closed", "state_reason": "completed"})
            saved["issue"] = None
            out.append(Delivery("github", "closed", True))
    except (_Failed, KeyError, TypeError) as exc:
        out.append(Delivery("github", "error", False, str(exc) if isinstance(exc, _Failed)
                            else "github: unexpected answer"))
    return out


async def _webhook(session: Any, name: str, url: str, run: dict[str, Any], change: str,
                   ch: Channels, report: tuple[str, bytes] | None) -> list[Delivery]:
    import aiohttp

    text = chat_text(run, change, ch.run_url)
    try:
        if name == "discord" and report is not None:
            form = aiohttp.FormData()
            form.add_field("payload_json", json.dumps({"content": text}),
                           content_type="application/json")
            form.add_field("files[0]", report[1], filename=report[0], content_type="text/html")
            await _call(session, "POST", url, f"{name} webhook", data=form)
        else:
            payload = {"content": text} if name == "discord" else {"text": text}
            await _call(session, "POST", url, f"{name} webhook", json=payload)
    except _Failed as exc:
        return [Delivery(name, change, False, str(exc))]
    return [Delivery(name, change, True)]


async def deliver(run: dict[str, Any], state: dict[str, Any], ch: Channels,
                  report: Path | None = None) -> list[Delivery]:
    """Send what the run's incident change calls for; ``state['incident']['issue']`` is
    updated in place. Never raises for a remote failure."""
    import aiohttp

    change = (run.get("incident") or {}).get("change")
    attachment = None
    if change and ch.discord and report is not None and report.exists():
        attachment = (report.name, await asyncio.to_thread(report.read_bytes))
    timeout = aiohttp.ClientTimeout(total=ch.timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        jobs = []
        if ch.github_token and ch.github_repo:
            jobs.append(_github(session, ch, run, state))
        told = state["incident"].setdefault("told", {})  # channel → "<run>:<change>" sent
        said = f"{run['started_at']}:{change}"
        for name, url in (("discord", ch.discord), ("slack", ch.slack)):
            if change and url and told.get(name) != said:  # once per run, even on re-runs
                jobs.append(_webhook(session, name, url, run, change, ch, attachment))
        results = await asyncio.gather(*jobs)
    deliveries = [d for group in results for d in group]
    told.update({d.channel: said for d in deliveries if d.ok and d.channel != "github"})
    return deliveries


def notify(run_path: str, state_path: str, report: str | None = None,
           env: Mapping[str, str] = os.environ) -> tuple[dict[str, Any], list[Delivery]]:
    """`edgeprobe notify`: deliver, then record the outcome in the run file and the state."""
    from edgeprobe import incident, result
    from edgeprobe.errors import RunFileError
    from edgeprobe.fileio import atomic_write
    from edgeprobe.report import reporter

    run = result.load(run_path)
    if "incident" not in run:
        raise RunFileError(f"{run_path}: has no incident block; run `edgeprobe probe … --state "
                           f"{state_path}` first")
    state, _ = incident.load_state(state_path, run["site"]["name"])
    deliveries = asyncio.run(deliver(run, state, Channels.from_env(env),
                                     Path(report) if report else None))
    run["notifications"] = [d.as_dict() for d in deliveries]
    run["incident"]["issue"] = state["incident"].get("issue")
    atomic_write(run_path, reporter("json").render(run))
    incident.save_state(state_path, state)
    return run, deliveries
