"""edgeprobe: ask every CDN edge of a site, one by one, whether it serves what is in the bucket."""

__version__ = "0.1.0"
