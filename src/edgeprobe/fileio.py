"""Output files: checked before a run, written atomically, never a surprise.

A reader never sees half a report and a crash never leaves one: a regular file is written
to a temporary file beside it, fsynced, renamed over it, and the directory fsynced. An
existing file keeps its mode. A FIFO or a terminal (``/dev/stdout``, ``>(…)``) is written
through, as a shell user expects. A symbolic link is refused rather than silently replaced
by a regular file (and its target left stale): give the target's path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from edgeprobe.errors import OutputError


def _streaming(path: Path) -> bool:
    """A FIFO or a character device (a terminal, /dev/null, /dev/stdout's pipe)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def check_output(path: str | os.PathLike[str]) -> None:
    """An OutputError now, before any probing, for a path that could not be written later."""
    target = Path(path)
    if _streaming(target):
        return
    if target.is_symlink():
        raise OutputError(f"cannot write {target}: it is a symbolic link (to "
                          f"{os.readlink(target)}); edgeprobe replaces files atomically and "
                          "will not replace a link: give its target's path")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a directory")
    parent = target.parent
    while not parent.exists():  # the nearest existing ancestor must be a writable directory
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {target}: {parent} is not writable")


def check_state(path: str | os.PathLike[str]) -> None:
    """``check_output`` for a state file, which is read back and locked: it must be a
    regular file or not exist yet. A FIFO or a device would block the read that starts
    every run (and ``serve``'s event loop with it), so it is an OutputError now."""
    target = Path(path)
    if not target.is_symlink() and _streaming(target):
        raise OutputError(f"cannot keep the state in {target}: not a regular file (a "
                          "FIFO or a device would block every run's read)")
    check_output(target)


def atomic_write(path: str | os.PathLike[str], text: str | Iterable[str]) -> None:
    """Write ``text`` (a string, or its pieces in order: a long text need never be held
    whole) to ``path`` as described in the module docstring. The old file stays as it was
    however the writing fails, the pieces' own code failing included."""
    target = Path(path)
    check_output(target)
    pieces = (text,) if isinstance(text, str) else text
    if _streaming(target):
        try:
            with open(target, "w", encoding="utf-8", newline="\n") as fh:
                for piece in pieces:
                    fh.write(piece)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
        return
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for piece in pieces:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (a power cut after it must not bring back the old
    file); best effort where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def held(path: str | os.PathLike[str]) -> Iterator[None]:
    """An advisory lock on a state file for as long as the block runs (``FILE.lock``
    beside it; flock, released by the kernel even on a kill). Two runs or two notifies on
    one state would each declare, each open an issue: the second is refused at once with
    an OutputError saying who holds it, never left waiting."""
    import fcntl

    lock = Path(f"{os.fspath(path)}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            raise OutputError(f"{path} is in use by another edgeprobe (pid {holder}); run "
                              "one probe, merge or notify per state file at a time") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
