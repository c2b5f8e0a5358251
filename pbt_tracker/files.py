"""Writing files in the workdir without ever leaving half of one behind, readable by their owner only.

What pbt-track writes holds commands and environment values (API keys among
them): files are made 0600 and directories 0700, or 0640 and 0750 for a
launch that asks for group access (`--group-readable`); a stricter umask
still takes its share off, as the kernel applies it to every mode asked.
"""

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


_group_readable = False


def share_with_group(readable: bool) -> None:
    """From now on in this process, what pbt-track makes is readable by the owner's group too (or not)."""
    global _group_readable
    _group_readable = readable


def file_mode(executable: bool = False) -> int:
    mode = 0o640 if _group_readable else 0o600
    return mode | (mode & 0o444) >> 2 if executable else mode


def dir_mode() -> int:
    return 0o750 if _group_readable else 0o700


def write_text_atomic(path: Path, text: str, executable: bool = False) -> None:
    """Replace `path` in one rename, with `file_mode`."""
    write_bytes_atomic(path, text.encode("utf-8"), executable)


def write_bytes_atomic(path: Path, data: bytes, executable: bool = False) -> None:
    """As write_text_atomic, for a file that is not text (a picture)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = file_mode(executable)
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
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, file_mode()), "ab")


def make_dirs(path: str | Path) -> None:
    """Create `path` and its missing parents with `dir_mode` (less what the umask takes off).

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
            directory.mkdir(mode=dir_mode())  # mkdir takes the umask off too
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


def absolute(path: str | os.PathLike[str]) -> Path:
    """A path made absolute with `..` and `.` taken out, as people read and paste it; symlinks are kept as given."""
    return Path(os.path.abspath(path))
