"""The lab fleet: S3 (moto), edges on their own loopback addresses, DNS, a Mastodon API.

On Linux every node listens on its own 127.0.1.N with one shared port, like real edges on
their own IPs. Where only 127.0.0.1 exists (macOS by default) every node gets its own port.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeprobe.errors import LabError
from edgeprobe.lab import require_extra
from edgeprobe.lab.content import LabObject, default_objects
from edgeprobe.lab.processes import can_bind, free_port

MEDIA_HOST = "media.lab.test"


@dataclass(frozen=True)
class LabNode:
    name: str
    region: str


DEFAULT_NODES = (
    LabNode("cdn-fremont-1", "us-west"), LabNode("cdn-seattle-1", "us-west"),
    LabNode("cdn-newark-1", "us-east"), LabNode("cdn-ashburn-1", "us-east"),
    LabNode("cdn-frankfurt-1", "eu-central"), LabNode("cdn-amsterdam-1", "eu-central"),
)


# The lab's GeoDNS views: client subnets (documentation ranges) per region; the media host's
# answer for a view is the addresses of that region's nodes.
LAB_VIEWS = {"us-west": ("198.51.100.0/24", "2001:db8:100::/56"),
             "us-east": ("203.0.113.0/24",), "eu-central": ("192.0.2.0/24",)}


@dataclass
class LabOptions:
    nodes: tuple[LabNode, ...] = DEFAULT_NODES
    objects: tuple[LabObject, ...] = field(default_factory=default_objects)
    faults: dict[str, set[str]] = field(default_factory=dict)
    slow_delay_s: float = 5.0  # far above what a busy machine adds to a healthy answer
    single_address: bool | None = None  # None: detect; True: 127.0.0.1 with a port per node
    # nodes that also listen on ::1 (an AAAA record beside their A): their IPv6 edge is
    # its own server, "NODE@::1" in Lab.edges, so a fault can break one address only
    dual_stack: tuple[str, ...] = ()


class Lab:
    """Start with ``await lab.start()``; change faults with ``await lab.set_faults(...)``."""

    def __init__(self, options: LabOptions | None = None) -> None:
        require_extra()
        self.options = options or LabOptions()
        self.dir = Path(tempfile.mkdtemp(prefix="edgeprobe-lab-"))
        self.api_mode = {"api": "on"}
        self.deleted: set[str] = set()
        self.edges: dict[str, Any] = {}
        self.addresses: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self._closers: list[Any] = []
        self._dns_transport: asyncio.DatagramTransport | None = None

    # -- start / stop ---------------------------------------------------------------------------
    async def start(self) -> Lab:
        import aiohttp

        from edgeprobe.lab.certs import make_certs
        from edgeprobe.lab.dns_server import start_dns
        from edgeprobe.lab.s3 import BUCKET, LabS3

        self.s3 = LabS3()
        await asyncio.to_thread(self.s3.start)
        self._closers.append(lambda: asyncio.to_thread(self.s3.stop))
        await asyncio.to_thread(self._put, self.options.objects)
        self.certs = make_certs(MEDIA_HOST, self.dir)
        self.dns, transport, self.dns_port = await start_dns()
        self._dns_transport = transport
        self.client = aiohttp.ClientSession(auto_decompress=False)
        self._closers.append(self.client.close)
        for attempt in range(5):
            try:
                await self._start_edges(f"{self.s3.endpoint}/{BUCKET}")
                break
            except OSError as exc:  # a port taken between choosing and binding: choose again
                await self._stop_edges()
                if attempt == 4:
                    raise LabError(f"cannot start the lab edges: {exc}") from exc
        await self._start_api()
        return self

    async def _start_edges(self, upstream: str) -> None:
        from edgeprobe.lab.edge import Edge, EdgeState

        nodes = self.options.nodes
        single = self.options.single_address
        if single is None:
            single = not can_bind("127.0.1.1")
        wanted = ["127.0.0.1"] * len(nodes) if single else \
            [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(len(nodes))]
        port = free_port(sorted(set(wanted)))
        for i, node in enumerate(nodes):
            address = wanted[i]
            node_port = free_port([address]) if single else port
            self.addresses[node.name], self.ports[node.name] = address, node_port
            state = EdgeState(node.name, upstream, self.client,
                              set(self.options.faults.get(node.name, ())),
                              self.options.slow_delay_s)
            edge = Edge(state, address, node_port, self.certs)
            await edge.start()
            self.edges[node.name] = edge
            self.dns.records[f"{node.name}.lab.test"] = (address,)
            self._dns_faults(node.name)
            if node.name in self.options.dual_stack:
                await self._start_v6(node.name, upstream, node_port, address)
        self.media_port = self.ports[nodes[0].name]
        self.single_address = single
        self._geodns()

    def view_answers(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """view → (its subnets, the addresses its users get): each region's nodes."""
        by_region: dict[str, list[str]] = {}
        for node in self.options.nodes:
            by_region.setdefault(node.region, []).append(self.addresses[node.name])
        return {view: (subnets, tuple(by_region.get(view, ()))) for view, subnets in
                LAB_VIEWS.items() if by_region.get(view)}

    def _geodns(self) -> None:
        """The lab nameserver answers the media host by client subnet, like GeoDNS."""
        import ipaddress

        views = self.view_answers()
        self.dns.records[MEDIA_HOST] = tuple(a for _, addrs in views.values() for a in addrs)
        self.dns.media_host = MEDIA_HOST
        self.dns.geo[MEDIA_HOST] = [(ipaddress.ip_network(subnet), addrs)
                                    for subnets, addrs in views.values() for subnet in subnets]

    async def _start_v6(self, node: str, upstream: str, port: int, address: str) -> None:
        """The node's IPv6 edge on [::1]:port, when this machine has an IPv6 loopback."""
        from edgeprobe.lab.edge import Edge, EdgeState

        state = EdgeState(f"{node}@::1", upstream, self.client, set(),
                          self.options.slow_delay_s)
        edge = Edge(state, "::1", port, self.certs)
        try:
            await edge.start()
        except OSError:
            return  # no ::1 here: the node stays IPv4-only
        self.edges[f"{node}@::1"] = edge
        self.dns.records[f"{node}.lab.test"] = (address, "::1")

    async def _stop_edges(self) -> None:
        for edge in self.edges.values():
            await edge.stop()
        self.edges.clear()

    async def _start_api(self) -> None:
        from aiohttp import web

        from edgeprobe.lab.api import make_app

        keys = [o.key for o in self.options.objects][:4]
        runner = web.AppRunner(make_app(f"https://{MEDIA_HOST}:{self.media_port}", keys,
                                        self.api_mode), access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.api_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._closers.append(runner.cleanup)

    async def stop(self) -> None:
        await self._stop_edges()
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                await close()
        self._closers.clear()
        if self._dns_transport is not None:
            self._dns_transport.close()
        shutil.rmtree(self.dir, ignore_errors=True)  # the CA and probe files die with the lab

    # -- faults ---------------------------------------------------------------------------------
    def _dns_faults(self, node: str) -> None:
        faults = self.edges[node].state.faults
        name = f"{node}.lab.test"
        self.dns.faults.pop(name, None)
        if "no_dns" in faults:
            self.dns.faults[name] = "nxdomain"
        elif "dns_servfail" in faults:
            self.dns.faults[name] = "servfail"
        elif "dns_timeout" in faults:
            self.dns.faults[name] = "timeout"

    async def set_faults(self, node: str, *faults: str) -> None:
        """Replace a node's faults; the node's server restarts so TLS and 'down' apply too."""
        from edgeprobe.lab.edge import FAULTS

        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise LabError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
        edge = self.edges[node]
        await edge.stop()
        edge.state.faults = set(faults)
        await edge.start()
        self._dns_faults(node)

    async def reset(self) -> None:
        """Every node healthy with a cold cache, every object back in the bucket, the API
        answering."""
        for node, edge in self.edges.items():
            edge.state.cache.clear()
            if edge.state.faults:
                await self.set_faults(node)
        self.api_mode["api"] = "on"
        gone = [o for o in self.options.objects if o.key in self.deleted]
        await asyncio.to_thread(self._put, gone)
        self.deleted.clear()

    def _put(self, objects: Sequence[LabObject]) -> None:
        for obj in objects:
            self.s3.put(obj)

    async def delete_object(self, key: str) -> None:
        """Delete from the bucket (edges that cached it keep serving it, as nginx does)."""
        await asyncio.to_thread(self.s3.delete, key)
        self.deleted.add(key)

    # -- the probe file -------------------------------------------------------------------------
    @property
    def paths(self) -> list[str]:
        return [f"/system/{o.key}" for o in self.options.objects]

    def probe_toml(self, *, origin: str = "ok", samples: str | None = None,
                   probe: str = "timeout_s = 5.0", extra: str = "", views: bool = False,
                   authoritative: str | None = None, omit: tuple[str, ...] = (),
                   probe_unlisted: str = "all", incident: str | None = None) -> str:
        """A probe file for this lab. origin: ok, unreachable (a closed port), no_such_bucket.
        views: the lab's [[views]], asked of ``authoritative`` ("ip:port"; the lab's own
        nameserver by default; not where every node shares 127.0.0.1). omit: nodes left out
        (still running: DNS may hand them out)."""
        from edgeprobe.lab.s3 import BUCKET, REGION

        endpoint = self.s3.endpoint
        bucket = BUCKET
        if origin == "unreachable":
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
        elif origin == "no_such_bucket":
            bucket = BUCKET + "-typo"
        paths = ",\n    ".join(f'"{p}"' for p in self.paths)
        lines = [
            "# edgeprobe probe file for the built-in lab fleet (edgeprobe lab --print-config)",
            "[site]", 'name = "lab"', f'media_url = "https://{MEDIA_HOST}:{self.media_port}"',
            f'ca_file = "{self.certs.ca_file}"',
            'web_url = "https://social.lab.test"  # the web UI: its Origin rides with every GET',
            "",
            "[origin]", f'bucket = "{bucket}"', f'endpoint_url = "{endpoint}"',
            f'region = "{REGION}"', 'url_prefix = "/system/"',
            "anonymous = true  # the lab bucket is public-read, like Mastodon's S3_PERMISSION", "",
            "[dns]", f'nameservers = ["127.0.0.1:{self.dns_port}"]', "timeout_s = 1.0",
            *([f'authoritative = ["{authoritative or f"127.0.0.1:{self.dns_port}"}"]',
               f'probe_unlisted = "{probe_unlisted}"  # the lab\'s edges are on loopback']
              if views and not self.single_address else []), "",
            "[samples]", samples if samples is not None else f"paths = [\n    {paths},\n]", "",
            "[probe]", probe, "",
            *(["[incident]", incident, ""] if incident is not None else []),
        ]
        for node in self.options.nodes:
            if node.name in omit:
                continue
            lines += ["[[nodes]]", f'name = "{node.name}"', f'region = "{node.region}"',
                      f'host = "{node.name}.lab.test"']
            if self.single_address:
                lines.append(f"port = {self.ports[node.name]}")
            lines.append("")
        if views and not self.single_address:
            for view, (subnets, _) in self.view_answers().items():
                quoted = ", ".join(f'"{s}"' for s in subnets)
                lines += ["[[views]]", f'name = "{view}"', f"subnets = [{quoted}]", ""]
        return "\n".join(lines) + extra

    def write_probe(self, name: str = "lab.toml", **kwargs: Any) -> Path:
        path = self.dir / name
        path.write_text(self.probe_toml(**kwargs), encoding="utf-8")
        return path
