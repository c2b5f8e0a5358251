"""Keeper of one local experiment: runs it, and writes down how it ended.

    python -m pbt_tracker.launcher.process_job EXIT_FILE -- ARGV...

The launcher that started an experiment may be gone by the time it ends
(killed, or its terminal closed). The keeper outlives it and leaves the exit
code in EXIT_FILE (negative: killed by that signal), which `pbt-track sync`
reads. It imports nothing beyond the standard library, so it starts fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m pbt_tracker.launcher.process_job EXIT_FILE -- ARGV...", file=sys.stderr)
        return 2
    exit_file, command = argv[0], argv[2:]
    try:
        child = subprocess.Popen(command)
    except OSError as error:
        print(f"pbt-track: cannot start {command[0]}: {error.strerror}", file=sys.stderr, flush=True)
        _write(exit_file, 127)
        return 127

    def forward(signum: int, _frame: object) -> None:
        # The whole group usually gets the signal; forwarding covers a signal sent to the keeper alone.
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    returncode = child.wait()
    _write(exit_file, returncode)
    return returncode if returncode >= 0 else 128 - returncode


def _write(path: str, returncode: int) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o664), "w") as handle:
        handle.write(f"{returncode}\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
