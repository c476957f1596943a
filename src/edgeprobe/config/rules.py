"""The rules across probe-file keys, over settings already read key by key
(config/checks.py holds the rules of single values): no subnet in two views, a node with a
host or addresses, sample paths under the url_prefix. Each raises :class:`Misplaced`, which
names the key to blame; the reader adds the file and the line."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from edgeprobe.config.settings import NodeSettings, ViewSettings
from edgeprobe.config.text import KeyPath
from edgeprobe.mastodon import PLACEHOLDER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Misplaced(ValueError):
    """A rule across keys broken at ``path``."""

    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.path = path


def views_apart(views: Sequence[ViewSettings]) -> None:
    """No subnet in two views (nor twice in one): a user belongs to one view."""
    owner: list[tuple[Network, int, str]] = []
    for i, view in enumerate(views):
        for text in view.subnets:
            net = ipaddress.ip_network(text)
            for other, j, other_text in owner:
                if net.version == other.version and net.overlaps(other):  # type: ignore[arg-type,unused-ignore]
                    where = "this view" if j == i else f"view {views[j].name!r}"
                    raise Misplaced(("views", i, "subnets"), f"{text} overlaps {other_text} "
                                    f"of {where}: a user belongs to one view")
            owner.append((net, i, text))


def nodes_reachable(nodes: Sequence[NodeSettings]) -> None:
    for i, node in enumerate(nodes):
        if not node.host and not node.addresses:
            raise Misplaced(("nodes", i), f"node {node.name!r} needs host or addresses")


def samples_in_bucket(paths: Sequence[str], prefix: str) -> None:
    """Sample paths are media paths: under the url_prefix, and not Mastodon's placeholder
    (which the app serves, not the bucket)."""
    for item in paths:
        if not item.startswith(prefix):
            raise Misplaced(("samples", "paths"), f"{item!r} does not start with "
                            f"[origin].url_prefix {prefix!r}")
        if item.endswith(PLACEHOLDER):
            raise Misplaced(("samples", "paths"), f"{item!r} is Mastodon's placeholder, "
                            "served by the app, not the bucket")
