"""Stand-ins for the GitHub REST API and Discord/Slack webhooks, on loopback, that record
what they receive. Faults: answer 500, or stall past the client's timeout."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web


class FakeServices:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail: dict[str, str] = {}  # "github" | "discord" | "slack" → "500" | "stall"
        self.next_issue = 41
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _record(self, request: web.Request, service: str) -> web.StreamResponse | None:
        body = await request.read()
        entry: dict[str, Any] = {"service": service, "method": request.method,
                                 "path": request.path, "auth": request.headers.get("Authorization"),
                                 "content_type": request.content_type}
        if request.content_type == "application/json":
            entry["json"] = json.loads(body)
        else:
            entry["raw"] = body
        fault = self.fail.get(service)
        if fault == "stall":
            await asyncio.sleep(5)
        if fault == "500":
            entry["failed"] = True
            self.calls.append(entry)
            return web.json_response({"message": "Server Error"}, status=500)
        self.calls.append(entry)
        return None

    async def _github(self, request: web.Request) -> web.StreamResponse:
        failed = await self._record(request, "github")
        if failed is not None:
            return failed
        if request.method == "POST" and request.path.endswith("/issues"):
            self.next_issue += 1
            return web.json_response({"number": self.next_issue}, status=201)
        return web.json_response({}, status=201 if request.method == "POST" else 200)

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        service = request.match_info["service"]
        failed = await self._record(request, service)
        return failed or web.Response(status=204)

    def start(self) -> FakeServices:
        self.thread.start()

        async def boot() -> int:
            app = web.Application()
            app.router.add_route("*", "/hooks/{service}", self._hook)
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
