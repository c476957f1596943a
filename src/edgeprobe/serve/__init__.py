"""``edgeprobe serve``: the scheduled runs behind an HTTP server (server.py) and the
Prometheus metrics it exposes (metrics.py)."""
