"""Typed, validated settings: what the probe file means once it has been checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from edgeprobe import defaults


@dataclass(frozen=True)
class SiteSettings:
    name: str
    media_url: str
    ca_file: str | None = None
    verify_tls: bool = defaults.VERIFY_TLS

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
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    url_prefix: str = defaults.URL_PREFIX
    anonymous: bool = defaults.ANONYMOUS
    ca_file: str | None = None  # a private CA for the bucket's endpoint (else AWS_CA_BUNDLE)


@dataclass(frozen=True)
class NameserverSettings:
    address: str
    port: int = 53

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class DnsSettings:
    nameservers: tuple[NameserverSettings, ...] = ()  # empty: the system resolver
    timeout_s: float = defaults.DNS_TIMEOUT_S


@dataclass(frozen=True)
class SampleSettings:
    paths: tuple[str, ...] = ()
    bucket_prefixes: tuple[str, ...] = ()
    per_prefix: int = defaults.PER_PREFIX
    mastodon_api: str | None = None
    max: int = defaults.SAMPLES_MAX
    seed: int = defaults.SAMPLE_SEED
    list_limit: int = defaults.LIST_LIMIT


@dataclass(frozen=True)
class ProbeSettings:
    timeout_s: float = defaults.PROBE_TIMEOUT_S
    concurrency: int = defaults.CONCURRENCY
    per_node_concurrency: int = defaults.PER_NODE_CONCURRENCY
    slow_ms: float = defaults.SLOW_MS
    max_body_bytes: int = defaults.MAX_BODY_BYTES
    cache_bust: bool = defaults.CACHE_BUST


@dataclass(frozen=True)
class IncidentSettings:
    confirm_runs: int = defaults.CONFIRM_RUNS


@dataclass(frozen=True)
class NodeSettings:
    name: str
    region: str
    host: str | None = None
    addresses: tuple[str, ...] = ()
    port: int | None = None


@dataclass(frozen=True)
class Settings:
    site: SiteSettings
    origin: OriginSettings
    nodes: tuple[NodeSettings, ...]
    dns: DnsSettings = field(default_factory=DnsSettings)
    samples: SampleSettings = field(default_factory=SampleSettings)
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    incident: IncidentSettings = field(default_factory=IncidentSettings)
    source: str = "<memory>"

    def node_port(self, node: NodeSettings) -> int:
        return node.port or self.site.port

    def regions(self) -> dict[str, list[str]]:
        """Region name → node names, in probe-file order."""
        out: dict[str, list[str]] = {}
        for node in self.nodes:
            out.setdefault(node.region, []).append(node.name)
        return out
