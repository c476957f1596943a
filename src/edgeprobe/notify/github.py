"""The incident's GitHub issue: exactly one open issue while an incident is open, none after.

The issue carries a hidden marker for its site, so a lost state file (an Actions cache miss)
finds the open issue again instead of filing a duplicate; an issue that is gone (404/410)
is replaced by a new one; each incident change is acted on once, however often ``notify``
runs. Issue numbers are used in API paths only as positive integers.
"""

from __future__ import annotations

import hashlib
from typing import Any

from edgeprobe.incident.state import Incident, issue_number
from edgeprobe.notify.http import Failed, call

GONE = (404, 410)
PER_PAGE = 50
MAX_PAGES = 10
LABELS = ["edgeprobe", "incident"]


def marker(site: str) -> str:
    return f"<!-- edgeprobe:incident:{hashlib.sha256(site.encode()).hexdigest()[:16]} -->"


class Issues:
    """The GitHub REST calls for one repository, with their safe messages."""

    def __init__(self, session: Any, api: str, repo: str, token: str) -> None:
        self.session = session
        self.base = f"{api}/repos/{repo}"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28"}

    async def find_open(self, site: str) -> int | None:
        """The open issue that carries this site's marker (paginated), or None."""
        tag = marker(site)
        for page in range(1, MAX_PAGES + 1):
            answer = await call(self.session, "GET", f"{self.base}/issues",
                                "github: find the incident issue", headers=self.headers,
                                params={"state": "open", "labels": LABELS[0],
                                        "per_page": str(PER_PAGE), "page": str(page)})
            items = answer.json if isinstance(answer.json, list) else []
            for item in items:
                if isinstance(item, dict) and "pull_request" not in item \
                        and tag in str(item.get("body") or ""):
                    number = issue_number(item.get("number"))
                    if number:
                        return number
            if len(items) < PER_PAGE:
                return None
        return None

    async def open(self, title: str, body: str, site: str) -> int:
        answer = await call(self.session, "POST", f"{self.base}/issues", "github: open issue",
                            headers=self.headers,
                            json={"title": title, "body": f"{marker(site)}\n{body}",
                                  "labels": LABELS})
        number = issue_number(answer.json.get("number") if isinstance(answer.json, dict)
                              else None)
        if number is None:  # the next run finds it by its marker: no duplicate
            raise Failed("github: open issue: the answer has no valid issue number")
        return number

    async def comment(self, number: int, body: str) -> None:
        await call(self.session, "POST", f"{self.base}/issues/{number}/comments",
                   "github: comment", headers=self.headers, json={"body": body})

    async def close(self, number: int) -> None:
        await call(self.session, "PATCH", f"{self.base}/issues/{number}", "github: close issue",
                   headers=self.headers, json={"state": "closed", "state_reason": "completed"})


async def sync(issues: Issues, site: str, open_now: bool, change: str | None, change_id: str,
               title: str, body: str, resolved_text: str,
               saved: Incident) -> list[tuple[str, bool, str | None]]:
    """Bring GitHub to the desired state; ``saved`` (the state's incident block) is updated
    in place. Returns (action, ok, error) tuples."""
    if change_id and saved.get("github_done") == change_id:
        return []  # this change was already handled by an earlier `notify`
    out: list[tuple[str, bool, str | None]] = []
    number = issue_number(saved.get("issue"))
    if saved.get("issue") is not None and number is None:
        out.append(("error", False, "github: the state file's issue number is not a positive "
                                    "integer; ignored"))
        saved["issue"] = None
    try:
        if open_now:
            if number is None:
                number = await issues.find_open(site)
                if number is None:
                    number = await issues.open(title, body, site)
                    out.append(("opened", True, None))
                else:
                    await issues.comment(number, "**Incident (still) open.**\n\n" + body)
                    out.append(("commented", True, None))
            elif change in ("declared", "updated", "reminder"):
                try:
                    word = "still open" if change == "reminder" else change
                    await issues.comment(number, f"**Incident {word}.**\n\n" + body)
                    out.append(("commented", True, None))
                except Failed as exc:
                    if exc.status not in GONE:
                        raise
                    number = await issues.open(title, body, site)  # deleted or moved away
                    out.append(("opened", True, None))
            saved["issue"] = number
        else:
            if number is None and change == "resolved":
                number = await issues.find_open(site)
            if number is not None:
                try:
                    await issues.comment(number, resolved_text)
                    await issues.close(number)
                except Failed as exc:
                    if exc.status not in GONE:
                        raise
                saved["issue"] = None
                out.append(("closed", True, None))
        if change_id:
            saved["github_done"] = change_id
    except Failed as exc:
        out.append(("error", False, str(exc)))
    return out
