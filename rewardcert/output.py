"""Writing output files without losing the old one: atomic replace, ``-`` for stdout.

Every file rewardcert writes (certificates, reports, pictures) goes through
``write_bytes`` / ``write_text``: the bytes go to a temporary file in the
destination's own directory, are flushed and ``fsync``-ed, and only then
``os.replace`` the destination, which is atomic on POSIX.  On any error, a full
disk or an interrupt included, the temporary file is removed and the previous
file is left as it was.  A missing parent directory is an error, never created
silently (``--out /nonexistent/dir/c.json`` exits 2).  The path ``-`` means
standard output.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import BinaryIO

from rewardcert.symbolic.core.errors import RewardcertError

STDOUT = "-"


def check_output_path(path: str | os.PathLike, *, what: str = "output", option: str = "--out") -> str:
    """``path`` if it can be written: ``-``, or a name whose parent directory exists."""
    path = os.fspath(path)
    if path == STDOUT:
        return path
    if not path or path.endswith(os.sep):
        raise RewardcertError(f"{path!r} is not a file name", entry=option)
    if os.path.isdir(path):
        raise RewardcertError(f"{path!r} is a directory; give a file name for the {what}", entry=option)
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise RewardcertError(f"cannot write the {what} {path!r}: the directory {parent!r} does not exist "
                              f"(create it first, e.g. mkdir -p {parent})", entry=option)
    return path


def _stdout_buffer(stream) -> BinaryIO:
    stream = stream if stream is not None else sys.stdout
    return getattr(stream, "buffer", stream)


def write_bytes(path: str | os.PathLike, data: bytes, *, what: str = "output", stdout=None) -> None:
    """Atomically replace ``path`` by ``data`` (``-``: write to ``stdout``, default ``sys.stdout``)."""
    path = check_output_path(path, what=what)
    if path == STDOUT:
        buffer = _stdout_buffer(stdout)
        buffer.write(data)
        buffer.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                                 suffix=".tmp")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
        temporary = None
        _fsync_directory(directory)
    except OSError as exc:
        raise RewardcertError(f"cannot write the {what}: {exc.strerror or exc}; the previous file, if any, "
                              "is unchanged", file=path) from None
    finally:  # an error or an interrupt (KeyboardInterrupt, SIGTERM) before the replace
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def write_text(path: str | os.PathLike, text: str, *, what: str = "output", stdout=None) -> None:
    write_bytes(path, text.encode("utf-8"), what=what, stdout=stdout)


def _mode_for(path: str) -> int:
    """Keep an existing file's permissions; a new file gets the usual ``0666 & ~umask``
    (``mkstemp`` creates its file ``0600``)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable; not every system can open a directory."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
