"""The real-nginx fleet, one per test module that asks for it (module scope: its caches warm
across a module's tests, as a live fleet's do)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.needs import need
from tests.servers.nginx import nginx_binary
from tests.servers.nginx_fleet import NginxFleet, running_fleet


@pytest.fixture(scope="module")
def fleet() -> Iterator[NginxFleet]:
    need(nginx_binary(), "nginx", "Debian: apt-get install nginx")
    with running_fleet() as running:
        yield running
