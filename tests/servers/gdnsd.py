"""A real GeoDNS server for the tests: Debian's gdnsd with its geoip plugin, answering the
media host by EDNS Client Subnet from an inline ``nets`` table (no GeoIP database needed),
on a loopback port, as the zone's authoritative server.

    server = Gdnsd(directory, {"us-west": (["198.51.100.0/24"], ["127.0.1.1"]), …})
    server.start(); … server.port …; server.stop()

``ignore_ecs=True`` makes the map answer by the querier's own address only (the
plugin's ``ignore_ecs``): every answer then has scope 0, like a server without ECS
support. ``media=False`` leaves the media host out of the zone (NXDOMAIN for every view).
``cname="edge.cdn-lb.test."`` publishes the media host as a CNAME to that name, which a
second zone of the same server answers by ECS (a CDN's or load balancer's name).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import dns.exception
import dns.message
import dns.query

from edgeprobe.errors import LabError
from edgeprobe.lab.processes import closed_port, stop

ZONE = "lab.test"
CONFIG = """\
options => {{
  listen => [ 127.0.0.1:{port} ]
  run_dir => {dir}/run
  state_dir => {dir}/state
  zones_default_ttl => 300
}}
plugins => {{
  geoip => {{
    maps => {{
      lab => {{
        datacenters => [{datacenters}]
        ignore_ecs => {ignore_ecs}
        nets => {{
{nets}
        }}
      }}
    }}
    resources => {{
      media => {{
        map => lab
        dcmap => {{
{dcmap}
        }}
      }}
    }}
  }}
}}
"""


def _addrs(addresses: Sequence[str]) -> str:
    """A datacenter's addresses for the geoip plugin: a list, or with IPv6 among them
    multifo's ``addrs_v4``/``addrs_v6`` (one list may not mix the two)."""
    v6 = [a for a in addresses if ":" in a]
    if not v6:
        return f"[{', '.join(addresses)}]"
    v4 = [a for a in addresses if ":" not in a]
    return ("{ " + (f"addrs_v4 => [{', '.join(v4)}] " if v4 else "")
            + f"addrs_v6 => [{', '.join(v6)}] }}")


def gdnsd_binary() -> str | None:
    found = shutil.which("gdnsd")
    if found:
        return found
    return "/usr/sbin/gdnsd" if os.access("/usr/sbin/gdnsd", os.X_OK) else None


class Gdnsd:
    """views: name → (client subnets, the edge addresses those clients get)."""

    def __init__(self, directory: Path, views: Mapping[str, tuple[Sequence[str], Sequence[str]]],
                 *, host: str = "media", ignore_ecs: bool = False, media: bool = True,
                 cname: str | None = None) -> None:
        self.dir = directory
        self.views, self.host, self.ignore_ecs, self.media = views, host, ignore_ecs, media
        self.cname = cname
        self.port = closed_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _write(self) -> None:
        (self.dir / "zones").mkdir(parents=True, exist_ok=True)
        names = list(self.views)
        nets = "\n".join(f"          {subnet} => [{name}]" for name, (subnets, _) in
                         self.views.items() for subnet in subnets)
        dcmap = "\n".join(f"          {name} => {_addrs(addrs)}" for name, (_, addrs) in
                          self.views.items())
        (self.dir / "config").write_text(CONFIG.format(
            port=self.port, dir=self.dir, datacenters=", ".join(names), nets=nets,
            dcmap=dcmap, ignore_ecs="true" if self.ignore_ecs else "false"))
        head = ["@ SOA ns1 hostmaster 1 7200 1800 259200 300", "@ NS ns1", "@ NS ns2",
                "ns1 A 127.0.0.1", "ns2 A 127.0.0.1"]
        zone = list(head)
        if self.media and self.cname:
            target, _, target_zone = self.cname.rstrip(".").partition(".")
            zone.append(f"{self.host} 60 CNAME {self.cname}")
            (self.dir / "zones" / target_zone).write_text(
                "\n".join([*head, f"{target} 60 DYNA geoip!media"]) + "\n")
        elif self.media:
            zone.append(f"{self.host} 60 DYNA geoip!media")
        (self.dir / "zones" / ZONE).write_text("\n".join(zone) + "\n")

    def start(self) -> None:
        binary = gdnsd_binary()
        if binary is None:
            raise LabError("gdnsd is not installed (Debian: apt-get install gdnsd)")
        self._write()
        self.proc = subprocess.Popen([binary, "-c", str(self.dir), "start"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        query = dns.message.make_query(f"ns1.{ZONE}", "A")
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise LabError(f"gdnsd exited: {err.strip()[-800:]}")
            try:
                dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.3)
                return
            except (dns.exception.Timeout, OSError):
                if time.monotonic() > deadline:
                    raise LabError("gdnsd did not answer within 15 s") from None

    def stop(self) -> None:
        stop(self.proc)
