"""Writing output files without losing anything: atomic replace of regular files only, ``-`` for stdout.

Every file rewardcert writes (certificates, reports, pictures, imported models, PRISM exports) goes
through ``write_bytes`` / ``write_text``, the toolkit's one writer: the bytes go to a temporary file
in the destination's own directory, are flushed and ``fsync``-ed, and only then ``os.replace`` the
destination, which is atomic on POSIX; the directory is ``fsync``-ed after.  On any error, a full
disk or an interrupt included, the temporary file is removed and the previous file is left as it
was.  The file gets the mode of the file it replaces, or ``0666 & ~umask`` (0644 usually) when new.

Only a regular file or a missing name is ever replaced: a device (``/dev/null``, ``/dev/full``), a
FIFO, a socket or a directory at the path is refused (exit 2), because replacing it would destroy
it.  A symbolic link is followed: its target is written atomically, the link is kept, and a note
on standard error says so (``write_bytes`` also returns the target).  A missing parent directory is an
error, never created silently (``--out /nonexistent/dir/c.json`` exits 2).  The path ``-`` means
standard output.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from typing import BinaryIO

from rewardcert.symbolic.core.errors import RewardcertError

STDOUT = "-"


_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def resolve_output(path: str | os.PathLike, *, what: str = "output", option: str = "--out") -> str:
    """The file that writing to ``path`` replaces: ``path`` itself, or a symbolic link's target
    (followed to the end).  Refused (``RewardcertError``, exit 2): anything at that name that is
    not a regular file, and a missing parent directory."""
    path = os.fspath(path)
    if path == STDOUT:
        return path
    if not path or path.endswith(os.sep):
        raise RewardcertError(f"{path!r} is not a file name", entry=option)
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise RewardcertError(f"cannot write the {what} {path!r}: {exc.strerror or exc}", entry=option) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise RewardcertError(f"{path!r} is a directory; give a file name for the {what}", entry=option)
    if mode is not None and not stat.S_ISREG(mode):
        raise RewardcertError(f"{path!r} is {_kind(mode)}, not a regular file: rewardcert replaces files "
                              f"atomically and will not replace it (use '{option} -' for standard output)",
                              entry=option)
    parent = os.path.dirname(target) or "."
    if not os.path.isdir(parent):
        raise RewardcertError(f"cannot write the {what} {path!r}: the directory {parent!r} does not exist "
                              f"(create it first, e.g. mkdir -p {parent})", entry=option)
    return target


def check_output_path(path: str | os.PathLike, *, what: str = "output", option: str = "--out") -> str:
    """``path`` if it can be written (``resolve_output``'s checks), before any work is done."""
    resolve_output(path, what=what, option=option)
    return os.fspath(path)


def _stdout_buffer(stream) -> BinaryIO:
    stream = stream if stream is not None else sys.stdout
    return getattr(stream, "buffer", stream)


def write_bytes(path: str | os.PathLike, data: bytes, *, what: str = "output", stdout=None) -> str:
    """Atomically replace ``path`` by ``data`` (``-``: write to ``stdout``, default ``sys.stdout``);
    returns the file written (a symbolic link's target, when ``path`` is a link)."""
    path = os.fspath(path)
    target = resolve_output(path, what=what)
    if target == STDOUT:
        buffer = _stdout_buffer(stdout)
        buffer.write(data)
        buffer.flush()
        return target
    directory = os.path.dirname(os.path.abspath(target))
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.",
                                                 suffix=".tmp")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.chmod(temporary, _mode_for(target))
        resolve_output(path, what=what)      # nothing but a regular file took the name meanwhile
        os.replace(temporary, target)
        temporary = None
        _fsync_directory(directory)
        if target != path:
            print(f"rewardcert: note: {path} is a symbolic link; its target {target} was replaced atomically",
                  file=sys.stderr)
    except OSError as exc:
        raise RewardcertError(f"cannot write the {what}: {exc.strerror or exc}; the previous file, if any, "
                              "is unchanged", file=path) from None
    finally:  # an error or an interrupt (KeyboardInterrupt, SIGTERM) before the replace
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
    return target


def write_text(path: str | os.PathLike, text: str, *, what: str = "output", stdout=None) -> str:
    """``write_bytes`` of ``text`` in UTF-8; returns the file written."""
    return write_bytes(path, text.encode("utf-8"), what=what, stdout=stdout)


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
