"""Typed settings: what the probe file means once it has been checked, key by key.

Each field of a ``*Settings`` class *is* a probe-file key: its name, its default and its
rule (``key(...)``: TOML type, required, a positive number and its bounds, a check from
config/checks.py) live on the field, and ``config/reader.py`` walks these fields. A new key
is one line here (and one row in docs/probe-file.md); unknown keys are errors because they
are not fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from edgeprobe.config import checks, defaults

PROBE_UNLISTED = ("public", "all", "none")


@dataclass(frozen=True)
class Key:
    """How one probe-file key is read. ``kind``: str, int, float (an int is accepted and
    made a float), bool or list (of non-empty strings). ``most``: the largest value a
    positive number may take, ``least`` the smallest; ``choices``: the words a string may be.
    ``check``: a callable from config/checks.py applied to the value (it may return a
    converted value; it raises ValueError with the message). ``relative``: a file path,
    relative to the probe file's directory (the reader resolves it before the check)."""

    kind: type
    required: bool = False
    positive: bool = False
    most: float | None = None
    least: float | None = None  # a positive number's smallest sane value (a deadline of
    # 0.0001 s is no deadline at all)
    choices: tuple[str, ...] | None = None  # the words a string key may be
    check: Callable[[Any], Any] | None = None
    relative: bool = False


def key(default: Any = MISSING, **rule: Any) -> Any:
    """A settings field that is also a probe-file key (see Key)."""
    meta = {"key": Key(**rule)}
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SiteSettings:
    name: str = key(kind=str, required=True)
    media_url: str = key(kind=str, required=True, check=checks.media_url)
    ca_file: str | None = key(None, kind=str, check=checks.pem_file, relative=True)
    verify_tls: bool = key(defaults.VERIFY_TLS, kind=bool)
    # the web UI's URL: every fetch carries it as Origin, as a browser on the web UI does
    # (unset: taken from [samples] mastodon_api; neither: no Origin is sent)
    web_url: str | None = key(None, kind=str, check=checks.web_origin)
    # the media are loaded cross-origin (Mastodon's web UI: yes), so every edge must send
    # Access-Control-Allow-Origin (docs/analysis.md, "CORS")
    cross_origin: bool = key(defaults.CROSS_ORIGIN, kind=bool)

    @property
    def scheme(self) -> str:
        return urlsplit(self.media_url).scheme

    @property
    def media_host(self) -> str:
        return urlsplit(self.media_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.media_url)
        return parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class OriginSettings:
    bucket: str = key(kind=str, required=True)
    endpoint_url: str | None = key(None, kind=str, check=checks.url)
    region: str | None = key(None, kind=str)
    url_prefix: str = key(defaults.URL_PREFIX, kind=str, check=checks.url_prefix)
    anonymous: bool = key(defaults.ANONYMOUS, kind=bool)
    # a private CA for the bucket's endpoint (else AWS_CA_BUNDLE)
    ca_file: str | None = key(None, kind=str, check=checks.pem_file, relative=True)


@dataclass(frozen=True)
class NameserverSettings:
    address: str
    port: int = 53

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


def _nameservers(value: tuple[str, ...]) -> tuple[NameserverSettings, ...]:
    return tuple(NameserverSettings(*found) for found in checks.servers(value))


@dataclass(frozen=True)
class DnsSettings:
    # empty: the system resolver
    nameservers: tuple[NameserverSettings, ...] = key((), kind=list, check=_nameservers)
    timeout_s: float = key(defaults.DNS_TIMEOUT_S, kind=float, positive=True, least=0.05,
                           most=60)
    # the media host's zone's authoritative servers, asked with ECS for [[views]]
    # (empty: found through the zone's NS records)
    authoritative: tuple[NameserverSettings, ...] = key((), kind=list, check=_nameservers)
    # which addresses GeoDNS hands a view, that no node lists, are probed as ad-hoc nodes:
    # "public" (globally routable only), "all", or "none" (docs/security.md)
    probe_unlisted: str = key(defaults.PROBE_UNLISTED, kind=str, choices=PROBE_UNLISTED)


@dataclass(frozen=True)
class SampleSettings:
    paths: tuple[str, ...] = key((), kind=list)  # under [origin].url_prefix (config/rules.py)
    bucket_prefixes: tuple[str, ...] = key((), kind=list)
    per_prefix: int = key(defaults.PER_PREFIX, kind=int, positive=True, most=10_000)
    mastodon_api: str | None = key(None, kind=str, check=checks.api_url)
    max: int = key(defaults.SAMPLES_MAX, kind=int, positive=True, most=100_000)
    seed: int = key(defaults.SAMPLE_SEED, kind=int)
    list_limit: int = key(defaults.LIST_LIMIT, kind=int, positive=True, most=1_000_000)


@dataclass(frozen=True)
class ProbeSettings:
    timeout_s: float = key(defaults.PROBE_TIMEOUT_S, kind=float, positive=True, least=0.1,
                           most=600)
    concurrency: int = key(defaults.CONCURRENCY, kind=int, positive=True, most=10_000)
    per_node_concurrency: int = key(defaults.PER_NODE_CONCURRENCY, kind=int, positive=True,
                                    most=1_000)
    slow_ms: float = key(defaults.SLOW_MS, kind=float, positive=True, least=1, most=600_000)
    max_body_bytes: int = key(defaults.MAX_BODY_BYTES, kind=int, positive=True,
                              most=16 * 1024**3)
    cert_warn_days: int = key(defaults.CERT_WARN_DAYS, kind=int, positive=True, most=3650)
    # worker processes fetching beside this one (observe/worker.py); 0: this one only
    processes: int = key(defaults.FETCH_PROCESSES, kind=int, check=checks.processes)


@dataclass(frozen=True)
class CanarySettings:
    """The origin-path canary (docs/analysis.md): random keys that cannot exist, asked of
    every node and address, show each edge's path to the bucket as it is now."""

    requests: int = key(defaults.CANARY_REQUESTS, kind=int, check=checks.canary_requests)
    prefix: str = key(defaults.CANARY_PREFIX, kind=str, check=checks.canary_prefix)
    # how long the edges keep a cached 200 (proxy_cache_valid): how long a cache can hide
    cache_valid_h: float = key(defaults.CACHE_VALID_H, kind=float, positive=True, most=87_600)


@dataclass(frozen=True)
class ServeSettings:
    """`edgeprobe serve`: how often it probes, where it listens (docs/metrics.md)."""

    interval_s: float = key(defaults.SERVE_INTERVAL_S, kind=float, positive=True, least=1,
                            most=86_400)
    listen: str = key(defaults.SERVE_LISTEN, kind=str, check=checks.listen)
    # /probe?node=NAME: one node probed on demand (off: anyone who can reach the port could
    # make the server probe, and the edges and the bucket pay)
    probe_endpoint: bool = key(False, kind=bool)
    # host names the server is reached by, besides its address and loopback's names: any
    # other Host is refused (a DNS-rebinding page must not read /run.json)
    hosts: tuple[str, ...] = key((), kind=list)
    probe_every_s: float = key(defaults.SERVE_PROBE_EVERY_S, kind=float, positive=True,
                               least=1, most=86_400)


@dataclass(frozen=True)
class IncidentSettings:
    """When a failure is an incident, and how often anyone hears of it (docs/scheduling.md)."""

    confirm_runs: int = key(defaults.CONFIRM_RUNS, kind=int, positive=True, most=1_000)
    retests: int = key(defaults.RETESTS, kind=int, check=checks.retests)
    retest_after_s: float = key(defaults.RETEST_AFTER_S, kind=float, positive=True, least=0.1,
                                most=300)
    retest_again_after_s: float = key(defaults.RETEST_AGAIN_AFTER_S, kind=float, positive=True,
                                      least=0.1, most=300)
    retest_budget_s: float = key(defaults.RETEST_BUDGET_S, kind=float, positive=True, least=1,
                                 most=600)
    resolve_after: int = key(defaults.RESOLVE_AFTER, kind=int, positive=True, most=100)
    flap_window: int = key(defaults.FLAP_WINDOW, kind=int, positive=True, least=2, most=1_000)
    flap_changes: int = key(defaults.FLAP_CHANGES, kind=int, positive=True, least=2, most=1_000)
    flap_resolve_after: int = key(defaults.FLAP_RESOLVE_AFTER, kind=int, positive=True,
                                  most=100)
    remind_every_h: float = key(defaults.REMIND_EVERY_H, kind=float, positive=True, least=0.1,
                                most=8_760)
    messages_per_hour: int = key(defaults.MESSAGES_PER_HOUR, kind=int, positive=True,
                                 most=100)


@dataclass(frozen=True)
class NodeSettings:
    name: str = key(kind=str, required=True, check=checks.name)
    region: str = key(kind=str, required=True)
    host: str | None = key(None, kind=str, check=checks.host)
    addresses: tuple[str, ...] = key((), kind=list, check=checks.addresses)
    port: int | None = key(None, kind=int, check=checks.port)


@dataclass(frozen=True)
class ViewSettings:
    """A named group of users by their networks: GeoDNS is asked, with each subnet as the
    EDNS Client Subnet, which edges it sends them to (docs/analysis.md, "Who gets which
    edge")."""

    name: str = key(kind=str, required=True, check=checks.name)
    subnets: tuple[str, ...] = key(kind=list, required=True, check=checks.subnets)


# Keys that existed once: each is an error that says what replaced it (docs/probe-file.md,
# "Removed keys").
REMOVED: dict[tuple[str, str], str] = {
    ("probe", "cache_bust"): (
        "removed in edgeprobe 0.2: a query string does not bypass the cache of Mastodon's "
        "documented nginx proxy (its cache key is $s3_backend$uri, without the query); the "
        "origin-path canary ([canary], on by default) now finds a broken path to the bucket "
        "behind a warm cache. Delete this line"),
}

# The probe file's tables, in their one order: the reader checks them so, "known: …" lists
# them so, and docs/probe-file.md describes them so.
SECTIONS: dict[str, type] = {"site": SiteSettings, "origin": OriginSettings,
                             "nodes": NodeSettings, "dns": DnsSettings,
                             "samples": SampleSettings, "probe": ProbeSettings,
                             "canary": CanarySettings, "incident": IncidentSettings,
                             "serve": ServeSettings, "views": ViewSettings}


@dataclass(frozen=True)
class Settings:
    site: SiteSettings
    origin: OriginSettings
    nodes: tuple[NodeSettings, ...]
    dns: DnsSettings = field(default_factory=DnsSettings)
    samples: SampleSettings = field(default_factory=SampleSettings)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    canary: CanarySettings = field(default_factory=CanarySettings)
    incident: IncidentSettings = field(default_factory=IncidentSettings)
    views: tuple[ViewSettings, ...] = ()
    serve: ServeSettings = field(default_factory=ServeSettings)
    source: str = "<memory>"
    digest: str = ""  # SHA-256 of the probe file's text: runs of the same file can be merged

    @property
    def web_origin(self) -> str | None:
        """The Origin a browser on the web UI sends: [site] web_url, else the instance the
        samples come from, else None."""
        api = self.samples.mastodon_api
        return self.site.web_url or (checks.web_origin(api) if api else None)

    def node_port(self, node: NodeSettings) -> int:
        return node.port or self.site.port

    def regions(self) -> dict[str, list[str]]:
        """Region name → node names, in probe-file order."""
        out: dict[str, list[str]] = {}
        for node in self.nodes:
            out.setdefault(node.region, []).append(node.name)
        return out
