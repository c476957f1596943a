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


def test_atomic_write_in_pieces_keeps_the_old_file_when_a_piece_fails(tmp_path):
    """A text written as it is made (the run's JSON): whole when every piece comes; when
    the code making them fails half-way, its own error (a bug, not a disk's), the old file
    as it was and no temporary file left."""
    target = tmp_path / "run.json"
    atomic_write(target, iter(["{", "\n", "}"]))
    assert target.read_text() == "{\n}"

    def failing():
        yield "{\n"
        raise RuntimeError("the encoder broke")

    with pytest.raises(RuntimeError, match="the encoder broke"):
        atomic_write(target, failing())
    assert target.read_text() == "{\n}"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


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
    assert "probing 6 nodes:" in out and "/90 checks" in out  # (13 objects + 2 canary keys) x 6
    assert "\x1b[31;1mFAILING\x1b[0m" in out
    code, out = _run_in_pty(["probe", "all", "-c", str(lab.probe_file())], {**env, "NO_COLOR": "1"})
    assert "\x1b[31;1m" not in out and "FAILING" in out


def test_pipes_get_neither(lab):
    proc = subprocess.run([sys.executable, "-m", "edgeprobe", "probe", "all", "-c",
                           str(lab.probe_file())], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    assert "probing" not in proc.stderr and "\x1b[" not in proc.stdout + proc.stderr


def test_a_directory_as_state_fails_before_probing(lab, tmp_path):
    from tests.conftest import edgeprobe

    proc = edgeprobe("probe", "all", "-c", str(lab.probe_file()), "--state", str(tmp_path),
                     "--html", str(tmp_path / "r.html"))
    assert proc.returncode == 2
    assert proc.stderr == f"edgeprobe: error: cannot write {tmp_path}: it is a directory\n"
    assert list(tmp_path.iterdir()) == []


def test_outputs_write_through_fifos_and_dev_stdout(tmp_path):
    import threading

    from tests.conftest import edgeprobe, render
    from tests.result.test_run_files import _minimal_run

    (tmp_path / "run.json").write_text(render("json", _minimal_run()))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    proc = edgeprobe("report", "run.json", "--html", str(fifo), "--markdown", "/dev/stdout",
                     cwd=tmp_path)
    reader.join(10)
    assert proc.returncode == 0, proc.stderr
    assert got[0].startswith("<!DOCTYPE html>") and fifo.is_fifo()
    assert proc.stdout.startswith("## 🟢 edgeprobe: HEALTHY")


def test_a_symlink_is_refused_not_silently_replaced(tmp_path):
    from tests.conftest import edgeprobe
    from tests.result.test_run_files import _minimal_run

    (tmp_path / "run.json").write_text(__import__("json").dumps(_minimal_run()))
    (tmp_path / "real.html").write_text("old")
    (tmp_path / "link.html").symlink_to("real.html")
    proc = edgeprobe("report", "run.json", "--html", "link.html", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == ("edgeprobe: error: cannot write link.html: it is a symbolic link (to "
                           "real.html); edgeprobe replaces files atomically and will not replace "
                           "a link: give its target's path\n")
    assert (tmp_path / "link.html").is_symlink() and (tmp_path / "real.html").read_text() == "old"


def test_an_existing_file_keeps_its_mode(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("{}")
    target.chmod(0o600)
    atomic_write(target, "{}\n")
    assert (target.stat().st_mode & 0o777) == 0o600
    atomic_write(tmp_path / "new.json", "{}")
    assert ((tmp_path / "new.json").stat().st_mode & 0o777) == 0o644
