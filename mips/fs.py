"""File-system safety of the output folder: private modes, one-line environment errors, a test hook.

Outputs hold patient identifiers (``measure_instances``, the work database), so folders the
pipeline creates are owner-only (``0700``) and the files it writes ``0600``, whatever the umask
(the mode is set with chmod after creation: a umask can only take bits away, never add them).
``MIPS_GROUP_READABLE=1`` in the environment lets the owner's group read them too (``0750`` /
``0640``), for a team that shares one service account group.
"""
from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

GROUP_READABLE_ENV = "MIPS_GROUP_READABLE"
# Test hook (not a user option): the fault-injection tests set it to a step name ("ingest",
# "measures", "publish"), and the run stops there, says so on stderr and waits to be killed.
PAUSE_ENV = "MIPS_TEST_PAUSE_AT"


def group_readable() -> bool:
    return os.environ.get(GROUP_READABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def dir_mode() -> int:
    return 0o750 if group_readable() else 0o700


def file_mode() -> int:
    return 0o640 if group_readable() else 0o600


def private_mkdir(path: Path) -> Path:
    """``mkdir -p`` whose newly made folders get ``dir_mode()`` (folders that exist are left as they are)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=dir_mode())
        except FileExistsError:
            continue  # made meanwhile by a concurrent run: that run set its mode
        os.chmod(folder, dir_mode())
    return path


def make_private(path: Path) -> None:
    """Give a file the run writes ``file_mode()`` (a folder ``dir_mode()``)."""
    path = Path(path)
    os.chmod(path, dir_mode() if path.is_dir() else file_mode())


_PROBLEMS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder",
    errno.EEXIST: "already exists",
    errno.ENAMETOOLONG: "file name too long",
    errno.EIO: "input/output error",
}


def environment_message(error: BaseException, doing: str) -> str:
    """One line for an operating-system failure: what we were doing and what the system said."""
    if isinstance(error, OSError) and error.errno in _PROBLEMS:
        return f"{doing}: {_PROBLEMS[error.errno]}"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    lowered = text.lower()
    # DuckDB reports file-system failures as its own IOException text
    for needle, problem in (("no space left", "no space left on the device"), ("permission denied", "permission denied"),
                            ("read-only file system", "read-only file system"), ("disk quota", "disk quota exceeded")):
        if needle in lowered:
            return f"{doing}: {problem}"
    return f"{doing}: {text[:200]}"


def is_environment_failure(error: BaseException) -> bool:
    """An OSError, or a DuckDB I/O error (disk full, permission denied while writing or spilling)."""
    if isinstance(error, OSError):
        return True
    try:
        import duckdb
    except ImportError:  # pragma: no cover
        return False
    return isinstance(error, (duckdb.IOException, duckdb.PermissionException)) or (
        isinstance(error, duckdb.Error) and any(s in str(error).lower() for s in
                                                ("no space left", "permission denied", "read-only file system")))


def pause_for_fault_test(point: str) -> None:
    """The fault-injection tests' hook: with ``MIPS_TEST_PAUSE_AT=<point>`` the run stops here until killed."""
    if os.environ.get(PAUSE_ENV) == point:
        print(f"MIPS_TEST_PAUSED {point}", file=sys.stderr, flush=True)
        time.sleep(600)
