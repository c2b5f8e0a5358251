"""Writing files in the workdir without ever leaving half of one behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pbt_tracker.errors import PathError, TemplateError

if TYPE_CHECKING:
    from io import BufferedWriter


NAME_MAX = 255
"""Bytes in one file name on Linux filesystems."""

PATH_MAX = 4096
"""Bytes in a path the kernel takes, its NUL included."""


def check_path_inert(path: str | os.PathLike[str], what: str) -> None:
    """Refuse a line break or NUL in a path: job scripts, scheduler listings and logs are read line by line."""
    text = os.fspath(path)
    for char, name in (("\0", "a NUL character"), ("\n", "a line break"), ("\r", "a carriage return")):
        if char in text:
            raise PathError(f"{what} {text[:80]!r} holds {name}, which pbt-track's scripts and the scheduler's "
                            "listings cannot carry safely; choose a path without one")
    longest = max((len(os.fsencode(part)) for part in text.split("/")), default=0)
    if longest > NAME_MAX or len(os.fsencode(text)) >= PATH_MAX:
        raise PathError(f"{what} {text[:80]!r}... is longer than a path or file name may be ({PATH_MAX - 1} bytes, "
                        f"{NAME_MAX} for each part); choose a shorter path")


def write_text_atomic(path: Path, text: str, executable: bool = False) -> None:
    """Replace `path` in one rename; the mode follows the user's umask but is never world-writable."""
    write_bytes_atomic(path, text.encode("utf-8"), executable)


def write_bytes_atomic(path: Path, data: bytes, executable: bool = False) -> None:
    """As write_text_atomic, for a file that is not text (a picture)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = (0o777 if executable else 0o666) & ~0o002
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:  # a leftover of a crash, which would keep its old mode
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_append(path: Path) -> BufferedWriter:
    """A log file opened for appending, created like write_text_atomic's files."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o664), "ab")


def make_dirs(path: str | Path) -> None:
    """Create `path` and its missing parents with the user's umask, but never world-writable.

    os.makedirs gives parents the umask's mode alone, so under umask 000 a
    train dir would be 0777: anyone could replace a policy's checkpoints.
    An existing directory keeps its mode.
    """
    path = Path(path)
    missing = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o775)  # mkdir takes the umask off; 0o775 takes off world-write
        except FileExistsError:  # made meanwhile by another launch
            pass
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))


def read_template_text(path: str, what: str, flag: str, kind: str) -> str:
    """A template file's text, or one line saying why it cannot be read: `what` names it, `flag` gives it,
    `kind` says what it should hold."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{what} {path} does not exist; pass an existing file to {flag}") from None
    except IsADirectoryError:
        raise TemplateError(f"{what} {path} is a directory; pass a file to {flag}") from None
    except PermissionError:
        raise TemplateError(f"{what} {path} is not readable; check its permissions") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{what} {path} is not UTF-8 text; pass {kind}") from None
    except OSError as error:
        raise TemplateError(f"cannot read {what} {path}: {error.strerror}; check the file") from None
