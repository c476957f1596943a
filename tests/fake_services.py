"""Stand-ins for the GitHub REST API and Discord/Slack webhooks, on loopback, that record
what they receive and keep issues like GitHub does. Faults per service (``fail[service]``):
"500", "stall" (past the client's timeout), "429" (with ``Retry-After: retry_after``;
"429_once": then fine), "redirect" (307 to /elsewhere, which records what it is sent),
"huge" (a 20 MB answer), "bad_number" (GitHub: a new issue's number that is no integer)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web


class FakeServices:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail: dict[str, str] = {}
        self.retry_after = "1"
        self.next_issue = 41
        self.issues: dict[int, dict[str, Any]] = {}  # number → {"body", "state", "comments"}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _record(self, request: web.Request, service: str) -> web.StreamResponse | None:
        body = await request.read()
        entry: dict[str, Any] = {"service": service, "method": request.method,
                                 "path": request.path, "query": dict(request.query),
                                 "auth": request.headers.get("Authorization"),
                                 "content_type": request.content_type}
        if request.content_type == "application/json":
            entry["json"] = json.loads(body)
        else:
            entry["raw"] = body
        fault = self.fail.get(service)
        if fault == "stall":
            await asyncio.sleep(5)
        failed: web.StreamResponse | None = None
        if fault == "500":
            failed = web.json_response({"message": "Server Error"}, status=500)
        elif fault in ("429", "429_once"):
            if fault == "429_once":
                del self.fail[service]
            failed = web.json_response({"message": "slow down"}, status=429,
                                       headers={"Retry-After": self.retry_after})
        elif fault == "redirect":
            failed = web.Response(status=307, headers={"Location": "/elsewhere" + request.path})
        elif fault == "huge":
            failed = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            await failed.prepare(request)
            for _ in range(20):
                await failed.write(b" " * (1024 * 1024))
            await failed.write_eof()
        entry["failed"] = failed is not None
        self.calls.append(entry)
        return failed

    async def _github(self, request: web.Request) -> web.StreamResponse:
        failed = await self._record(request, "github")
        if failed is not None:
            return failed
        parts = request.path.rstrip("/").split("/")  # /repos/o/r/issues[/N[/comments]]
        if request.method == "GET" and parts[-1] == "issues":
            per_page, page = int(request.query["per_page"]), int(request.query["page"])
            items = [{"number": n, "body": i["body"], "state": "open"}
                     for n, i in sorted(self.issues.items()) if i["state"] == "open"]
            return web.json_response(items[(page - 1) * per_page: page * per_page])
        if request.method == "POST" and parts[-1] == "issues":
            self.next_issue += 1
            data = await request.json()
            self.issues[self.next_issue] = {"body": data["body"], "state": "open",
                                            "comments": []}
            number: Any = self.next_issue
            if self.fail.get("github") == "bad_number" or self.fail.get("number") == "bad":
                number = f"{number}; rm -rf /"
            return web.json_response({"number": number}, status=201)
        number = int(parts[5]) if len(parts) > 5 and parts[5].isdigit() else 0
        issue = self.issues.get(number)
        if issue is None:
            return web.json_response({"message": "Not Found"}, status=404)
        if request.method == "POST":
            issue["comments"].append((await request.json())["body"])
            return web.json_response({}, status=201)
        issue["state"] = (await request.json()).get("state", issue["state"])
        return web.json_response({})

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        service = request.match_info["service"]
        failed = await self._record(request, service)
        return failed or web.Response(status=204)

    async def _elsewhere(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "elsewhere")
        return web.json_response({"number": 1})

    def start(self) -> FakeServices:
        self.thread.start()

        async def boot() -> int:
            app = web.Application()
            app.router.add_route("*", "/hooks/{service}", self._hook)
            app.router.add_route("*", "/elsewhere/{tail:.*}", self._elsewhere)
            app.router.add_route("*", "/{tail:.*}", self._github)
            self.runner = web.AppRunner(app, access_log=None)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            return self.runner.addresses[0][1]

        port = asyncio.run_coroutine_threadsafe(boot(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def env(self) -> dict[str, str]:
        return {"GITHUB_TOKEN": "ghs_faketoken_never_printed", "GITHUB_REPOSITORY": "acme/infra",
                "GITHUB_API_URL": self.url, "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_RUN_ID": "777", "EDGEPROBE_NOTIFY_TIMEOUT_S": "1",
                "EDGEPROBE_DISCORD_WEBHOOK": f"{self.url}/hooks/discord?secret=wh1",
                "EDGEPROBE_SLACK_WEBHOOK": f"{self.url}/hooks/slack?secret=wh2"}

    def take(self) -> list[tuple[str, str, str]]:
        """(service, method, what) of every call since the last take, and forget them."""
        out = []
        for c in self.calls:
            what = c["path"].rsplit("/", 1)[-1] if c["service"] == "github" else "message"
            if c["service"] == "github" and c["method"] == "PATCH":
                what = c["json"].get("state", "patch")
            out.append((c["service"], c["method"], what))
        self.calls.clear()
        return out
