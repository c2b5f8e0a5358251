"""Writing files in the workdir without ever leaving half of one behind."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: Path, text: str, executable: bool = False) -> None:
    """Replace `path` in one rename; the mode follows the user's umask but is never world-writable."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = (0o777 if executable else 0o666) & ~0o002
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:  # a leftover of a crash, which would keep its old mode
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_append(path: Path):  # type: ignore[no-untyped-def]
    """A log file opened for appending, created like write_text_atomic's files."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o664), "ab")
