"""`config check`: what a probe file means, with each node's addresses resolved now."""

from __future__ import annotations

import asyncio

from edgeprobe.config.settings import Settings
from edgeprobe.observe.resolve import resolve_all


def describe(settings: Settings) -> str:
    """A readable account of what `probe all` would do (DNS is asked; the bucket is not)."""
    s = settings
    resolutions = asyncio.run(resolve_all(s.dns, s.nodes))
    auth = "unsigned (anonymous)" if s.origin.anonymous else "signed (standard boto3 chain)"
    dns = ", ".join(str(n) for n in s.dns.nameservers) or "the system resolver"
    lines = [
        f"{s.source}: valid",
        f"site     {s.site.name}: {s.site.media_url} (Host and TLS SNI {s.site.media_host}, "
        f"verify TLS: {'yes' if s.site.verify_tls else 'NO'}"
        + (f", extra CA {s.site.ca_file})" if s.site.ca_file else ")"),
        f"origin   bucket {s.origin.bucket} at {s.origin.endpoint_url or 'AWS S3'}"
        f"{f' ({s.origin.region})' if s.origin.region else ''}, {auth}; media path = "
        f"{s.origin.url_prefix}<key>",
        f"dns      {dns} (timeout {s.dns.timeout_s:g} s)",
        f"probe    timeout {s.probe.timeout_s:g} s, {s.probe.concurrency} in flight "
        f"({s.probe.per_node_concurrency} per node), slow over {s.probe.slow_ms:g} ms, "
        f"bodies up to {s.probe.max_body_bytes} bytes",
        "",
        f"nodes ({len(s.nodes)} in {len(s.regions())} regions):",
    ]
    width = max(len(n.name) for n in s.nodes)
    for node, res in zip(s.nodes, resolutions, strict=True):
        where = ", ".join(res.addresses) if res.addresses else f"DNS FAILED: {res.error}"
        via = "pinned" if res.pinned else node.host
        lines.append(f"  {node.name:<{width}}  {node.region:<12} {via} → {where}, "
                     f"port {s.node_port(node)}")
    lines += ["", f"samples (at most {s.samples.max}):"]
    lines += [f"  {p}" for p in s.samples.paths]
    for prefix in s.samples.bucket_prefixes:
        lines.append(f"  + {s.samples.per_prefix} keys sampled under bucket prefix {prefix!r} "
                     f"(seed {s.samples.seed}) at probe time")
    if s.samples.mastodon_api:
        lines.append(f"  + media found through {s.samples.mastodon_api}'s public API at probe "
                     "time")
    if not (s.samples.paths or s.samples.bucket_prefixes or s.samples.mastodon_api):
        lines.append("  (none: add paths, bucket_prefixes or mastodon_api to [samples])")
    return "\n".join(lines)
