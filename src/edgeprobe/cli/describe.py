"""`config check`: what a probe file means, with each node's addresses resolved now."""

from __future__ import annotations

import asyncio

from edgeprobe.config.settings import Settings
from edgeprobe.observe.resolve import resolve_all
from edgeprobe.observe.sample import build_sample


def describe(settings: Settings) -> str:
    """A readable account of what `probe all` would do: DNS is asked, and the bucket's
    listing and the Mastodon API for what would be sampled."""
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
        f"bodies up to {s.probe.max_body_bytes} bytes, "
        + (f"fetched here and in up to {s.probe.processes} worker processes (one process "
           "per 100 requests)" if s.probe.processes else "fetched in this process"),
        "",
        f"nodes ({len(s.nodes)} in {len(s.regions())} regions):",
    ]
    width = max(len(n.name) for n in s.nodes)
    for node, res in zip(s.nodes, resolutions, strict=True):
        where = ", ".join(res.addresses) if res.addresses else f"DNS FAILED: {res.error}"
        via = "pinned" if res.pinned else node.host
        lines.append(f"  {node.name:<{width}}  {node.region:<12} {via} → {where}, "
                     f"port {s.node_port(node)}")
    lines += ["", *_samples(s)]
    return "\n".join(lines)


def _samples(s: Settings) -> list[str]:
    """What a run would sample now, each key with how it was chosen: the bucket's listing
    and the Mastodon API are asked, as a run asks them (the choice changes as media are
    uploaded; with the same seed and the same bucket, it is the same)."""
    if not (s.samples.paths or s.samples.bucket_prefixes or s.samples.mastodon_api):
        return ["samples: none: add paths, bucket_prefixes or mastodon_api to [samples]"]
    sample = asyncio.run(build_sample(s.samples, s.origin, s.site.media_host,
                                      s.probe.timeout_s))
    lines = [f"samples ({len(sample.objects)} now, at most {s.samples.max}; seed "
             f"{s.samples.seed}):"]
    width = max((len(o.path) for o in sample.objects), default=0)
    lines += [f"  {o.path:<{width}}  {o.chosen or o.source}" for o in sample.objects]
    lines += [f"  ! {n.summary}" for n in sample.notes]
    return lines
