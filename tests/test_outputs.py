"""Outputs: atomic files, and the progress line and colour that only a terminal gets."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from edgeprobe.errors import OutputError
from edgeprobe.fileio import atomic_write


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    target = tmp_path / "r.html"
    target.write_text("old")
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    """A disk error at the rename (injected: it cannot be made real here, even as root)."""
    target = tmp_path / "r.html"
    target.write_text("old")

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("edgeprobe.fileio.os.replace", full)
    with pytest.raises(OutputError, match=r"cannot write .*No space left on device"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # the temporary file is gone


def test_atomic_write_into_a_file_path_is_an_output_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(tmp_path / "f" / "r.html", "new")


def _run_in_pty(args, env):
    """stdout and stderr on a pseudo-terminal, like a person's shell."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "edgeprobe", *args], stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(60)
    os.close(master)
    return proc.returncode, out.decode("utf-8", "replace")


def test_terminal_gets_progress_and_colour(lab):
    lab.fault("cdn-fremont-1", "s3_disabled")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    code, out = _run_in_pty(["probe", "all", "-c", str(lab.probe_file())], env)
    assert code == 1
    assert "probing 6 nodes:" in out and "/78 checks" in out
    assert "\x1b[31;1mFAILING\x1b[0m" in out
    code, out = _run_in_pty(["probe", "all", "-c", str(lab.probe_file())], {**env, "NO_COLOR": "1"})
    assert "\x1b[31;1m" not in out and "FAILING" in out


def test_pipes_get_neither(lab):
    proc = subprocess.run([sys.executable, "-m", "edgeprobe", "probe", "all", "-c",
                           str(lab.probe_file())], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    assert "probing" not in proc.stderr and "\x1b[" not in proc.stdout + proc.stderr
