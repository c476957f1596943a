"""Tell people about incidents: a GitHub issue, Discord and Slack webhooks.

GitHub follows the *desired* state (an open incident has exactly one open issue; a closed
one has none), so a failed call is retried by the next run. Chat messages are queued in the
state file's outbox when an incident changes and sent until they get through (a 500 or a
429 is retried by later runs, ``Retry-After`` honoured), each exactly once. A failure is
recorded as a warning, never raised, and no token or webhook URL is ever printed.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edgeprobe.errors import EnvError
from edgeprobe.incident.state import Message, State, issue_number
from edgeprobe.result.types import DeliveryInfo, IncidentInfo, RunResult
from edgeprobe.result.validation import parse_time
from edgeprobe.vocabulary import BLAMING, CRITICAL

ISSUE_BODY_MAX = 60_000  # GitHub refuses bodies over 65,536 characters
CHAT_MAX = 1_900  # Discord's content limit is 2,000
OUTBOX_MAX = 10  # queued messages per channel; the oldest go first when more pile up
MAX_ATTEMPTS = 20
RETRY_NOW_S = 5.0  # a Retry-After up to this is waited for within the run; longer: next run
RETRY_BUDGET_S = 10.0  # all such waits of one notify together
TIMEOUT_ENV = "EDGEPROBE_NOTIFY_TIMEOUT_S"


def _timeout(env: Mapping[str, str]) -> float:
    text = env.get(TIMEOUT_ENV) or "10"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 300):
        raise EnvError(f"{TIMEOUT_ENV}={text!r}: must be a number of seconds, over 0 and at "
                       "most 300")
    return value


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
        """The channels configured in the environment; a bad value is an EnvError."""
        run_url = None
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            run_url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        return cls(github_token=env.get("GITHUB_TOKEN") or None,
                   github_repo=env.get("GITHUB_REPOSITORY") or None,
                   github_api=(env.get("GITHUB_API_URL") or cls.github_api).rstrip("/"),
                   discord=env.get("EDGEPROBE_DISCORD_WEBHOOK") or None,
                   slack=env.get("EDGEPROBE_SLACK_WEBHOOK") or None, run_url=run_url,
                   timeout_s=_timeout(env))


@dataclass(frozen=True)
class Delivery:
    channel: str
    action: str
    ok: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "action": self.action, "ok": self.ok,
                "error": self.error}


def failing_targets(run: RunResult) -> list[str]:
    confirmed = (run.incident.confirmed if run.incident else ()) or ()
    return list(dict.fromkeys(f.target for f in confirmed)) or \
        [f.target for f in run.findings if f.severity == CRITICAL]


def issue_title(run: RunResult) -> str:
    targets = failing_targets(run)
    shown = ", ".join(targets[:4]) + (f" and {len(targets) - 4} more" if len(targets) > 4 else "")
    return f"edgeprobe: {run.site.name} — {shown or 'edges'} {run.health!s}"[:200]


def chat_text(run: RunResult, change: str, run_url: str | None) -> str:
    site = run.site.name
    flapping = " (flapping: it comes and goes)" if run.incident and run.incident.flapping \
        else ""
    failing = ", ".join(failing_targets(run))
    head = {"declared": f"🔴 {site}: incident declared — {failing}",
            "updated": f"🟠 {site}: incident updated — {failing}{flapping}",
            "reminder": f"🟠 {site}: incident still open — {failing}{flapping}",
            "resolved": f"🟢 {site}: resolved — every node serves what is in the bucket"}[change]
    lines = [head]
    if change != "resolved":
        lines += [f"• {f.severity}: {f.summary}" for f in run.findings
                  if f.severity in BLAMING][:8]
    if run_url:
        lines.append(run_url)
    text = "\n".join(lines)
    return text if len(text) <= CHAT_MAX else text[: CHAT_MAX - 1] + "…"


def _issue_body(run: RunResult, run_url: str | None) -> str:
    from edgeprobe.report.markdown import MarkdownReporter

    body = MarkdownReporter(limit=ISSUE_BODY_MAX - 500).render(run)
    return body + (f"\n[Workflow run]({run_url})\n" if run_url else "")


def _enqueue(state: State, run: RunResult, ch: Channels, change: str,
             change_id: str) -> list[Delivery]:
    """Queue this change's message for each chat channel that has not had it yet."""
    inc = state["incident"]
    outbox: list[Message] = inc.setdefault("outbox", [])
    sent: dict[str, list[str]] = inc.setdefault("sent", {})
    dropped = []
    for name, url in (("discord", ch.discord), ("slack", ch.slack)):
        queued = [m for m in outbox if m["channel"] == name]
        if not url or change_id in sent.get(name, []) or \
                any(m["id"] == change_id for m in queued):
            continue
        if len(queued) >= OUTBOX_MAX:
            outbox.remove(queued[0])
            dropped.append(Delivery(name, "dropped", False, f"{name}: outbox full; the oldest "
                                                            "undelivered message was dropped"))
        outbox.append({"id": change_id, "channel": name, "change": change,
                       "text": chat_text(run, change, ch.run_url), "attempts": 0,
                       "not_before": None})
    return dropped


async def _flush(session: Any, state: State, ch: Channels, change_id: str | None,
                 attachment: tuple[str, bytes] | None, now: datetime) -> list[Delivery]:
    """Send what is due in the outbox, oldest first; keep what fails for the next run."""
    from edgeprobe.notify.chat import send
    from edgeprobe.notify.http import Failed

    inc = state["incident"]
    out = []
    urls = {"discord": ch.discord, "slack": ch.slack}
    # a channel's Retry-After holds for the channel, not one message: once it asks for a
    # wait, its other messages keep the same not_before; and the waits a notify does within
    # the run share one budget (0.2 waited per message: one notify took 100 s)
    held_until: dict[str, datetime] = {}
    budget = RETRY_BUDGET_S
    for message in list(inc.get("outbox", [])):
        name, url = message["channel"], urls.get(message["channel"])
        due = message.get("not_before")
        if not url or (due and parse_time(due) > now):
            continue
        if name in held_until:
            message["not_before"] = held_until[name].isoformat()
            continue
        files = attachment if name == "discord" and message["id"] == change_id else None
        try:
            try:
                await send(session, name, url, message["text"], files)
            except Failed as exc:
                if exc.retry_after is None or exc.retry_after > min(RETRY_NOW_S, budget):
                    raise
                budget -= exc.retry_after
                await asyncio.sleep(exc.retry_after)
                await send(session, name, url, message["text"], files)
        except Failed as exc:
            message["attempts"] += 1
            wait = exc.retry_after
            if wait:
                held_until[name] = now + timedelta(seconds=wait)
            message["not_before"] = (now + timedelta(seconds=wait)).isoformat() if wait else None
            if message["attempts"] >= MAX_ATTEMPTS:
                inc["outbox"].remove(message)
            out.append(Delivery(name, message["change"], False, str(exc)))
            continue
        inc["outbox"].remove(message)
        inc.setdefault("sent", {}).setdefault(name, []).append(message["id"])
        inc["sent"][name] = inc["sent"][name][-20:]
        out.append(Delivery(name, message["change"], True))
    return out


async def deliver(run: RunResult, state: State, ch: Channels,
                  report: tuple[str, bytes] | None = None) -> list[Delivery]:
    """Send what the run's incident calls for; ``state['incident']`` is updated in place
    (issue number, outbox, what was sent). ``report`` (file name, bytes) is attached to this
    change's Discord message. Never raises for a remote failure."""
    import aiohttp

    from edgeprobe.notify.github import Issues, sync

    inc = run.incident or IncidentInfo()
    change = inc.change or None
    change_id = f"{run.started_at}:{change}" if change else ""
    deliveries = _enqueue(state, run, ch, change, change_id) if change else []
    attachment = report if change and ch.discord else None
    timeout = aiohttp.ClientTimeout(total=ch.timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if ch.github_token and ch.github_repo:
            issues = Issues(session, ch.github_api, ch.github_repo, ch.github_token)
            resolved = "**Resolved**: every node serves what is in the bucket again." + (
                f"\n\n[Workflow run]({ch.run_url})" if ch.run_url else "")
            done = await sync(issues, run.site.name, inc.state == "open", change,
                              change_id, issue_title(run), _issue_body(run, ch.run_url),
                              resolved, state["incident"])
            deliveries += [Delivery("github", a, ok, err) for a, ok, err in done]
        deliveries += await _flush(session, state, ch, change_id or None, attachment,
                                   datetime.now(UTC))
    return deliveries


def notify_run(run: RunResult, state_path: str | Path, channels: Channels,
               report: tuple[str, bytes] | None = None) -> tuple[RunResult, list[Delivery]]:
    """Deliver for a run probed with a state file; returns the run with ``notifications``
    and the issue number recorded (the caller writes it), and saves the state file."""
    from edgeprobe import incident
    from edgeprobe.fileio import held

    with held(state_path):  # two notifies at once would each open an issue
        state, _ = incident.load_state(state_path, run.site.name)
        deliveries = asyncio.run(deliver(run, state, channels, report))
        inc = replace(run.incident or IncidentInfo(),
                      issue=issue_number(state["incident"].get("issue")))
        run = replace(run, incident=inc, notifications=tuple(
            DeliveryInfo(d.channel, d.action, d.ok, d.error) for d in deliveries))
        incident.save_state(state_path, state)
    return run, deliveries


def notify(run_path: str, state_path: str, report: str | None = None,
           env: Mapping[str, str] = os.environ) -> tuple[RunResult, list[Delivery]]:
    """`edgeprobe notify`: a saved run's notifications, recorded back into its file."""
    from edgeprobe.errors import OutputError, RunFileError
    from edgeprobe.report import write
    from edgeprobe.result.files import load_run

    channels = Channels.from_env(env)
    run = load_run(run_path)
    if not run.incident:
        raise RunFileError(f"{run_path}: has no incident block; run `edgeprobe probe … --state "
                           f"{state_path}` first")
    attachment = None
    if report:
        try:
            attachment = (Path(report).name, Path(report).read_bytes())
        except OSError as exc:
            raise OutputError(f"cannot read the report {report}: {exc.strerror}") from None
    run, deliveries = notify_run(run, state_path, channels, attachment)
    write(run, {"json": run_path})
    return run, deliveries
