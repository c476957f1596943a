"""What the lab's servers share: free loopback ports (one port free on several addresses),
and a stop that never leaves a process behind."""

from __future__ import annotations

import socket
import subprocess


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def silent_listener() -> socket.socket:
    """A loopback TCP port that completes connections (the kernel's backlog) and never
    reads or answers: a hung upstream. Close it to let the waiters go."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(512)
    return s


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def can_bind(address: str) -> bool:
    """Whether this machine has ``address`` (macOS has no 127.0.1.N by default)."""
    with socket.socket() as s:
        try:
            s.bind((address, 0))
        except OSError:
            return False
    return True


def free_port(addresses: list[str]) -> int:
    """A port free on every address (a race with other programs is retried by the caller)."""
    with socket.socket() as first:
        first.bind((addresses[0], 0))
        port = first.getsockname()[1]
        for addr in addresses[1:]:
            with socket.socket() as s:
                s.bind((addr, port))
    return int(port)
