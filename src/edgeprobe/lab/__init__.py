"""The built-in lab fleet: moto's S3, Python edges on 127.0.x.y, a UDP DNS server, a local CA.

Needs the optional extra ``edgeprobe[lab]`` (moto's server and trustme).
"""

from __future__ import annotations

from edgeprobe.errors import LabError

INSTALL_HINT = "the lab needs the optional extra: pip install 'edgeprobe[lab]'"


def require_extra() -> None:
    """A LabError with the install command when moto or trustme is missing."""
    try:
        import moto.server  # noqa: F401
        import trustme  # noqa: F401
    except ImportError as exc:
        package = (exc.name or "moto").split(".")[0]
        raise LabError(f"{INSTALL_HINT} ({package} is not installed)") from exc
