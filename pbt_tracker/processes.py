"""The one place that starts, inspects and stops local experiment processes.

A pid alone does not identify a process for long: once it exits, the number is
reused. Every pid pbt-track keeps is paired with the process's start time in
clock ticks after boot (field 22 of /proc/PID/stat), and a pid whose start time
differs is not ours.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from pbt_tracker import settings
from pbt_tracker.errors import RunDescriptionError
from pbt_tracker.files import open_append


class ProcessId(NamedTuple):
    """A process as pbt-track records it (a named tuple: `cancel` starts without the dataclasses module)."""

    pid: int
    start: int | None
    host: str

    @property
    def here(self) -> bool:
        return self.host == hostname()


def this_process() -> ProcessId:
    """This process, as recorded on what it is about to start or submit."""
    return ProcessId(os.getpid(), start_ticks(os.getpid()), hostname())


def hostname() -> str:
    """The node name, as gethostname() gives it; os.uname() spares every command the socket module's import."""
    return os.uname().nodename


def start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def arguments_in_flight(prefix: str) -> set[str]:
    """Arguments starting with `prefix` on the command lines of this user's running processes, each up to its
    first space.

    An sbatch that outlived its submitter carries the submission's tag in its
    arguments; finding the tag here says the job may still reach Slurm. This
    replaces writing each sbatch's pid to the database before waiting for it.
    The tag's argument may go on with the user's own comment after a space.
    """
    wanted = os.fsencode(prefix)
    found: set[str] = set()
    me = os.getuid()
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != me:
                    continue
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    arguments = handle.read().split(b"\0")
            except OSError:
                continue  # it ended while we looked
            found.update(os.fsdecode(arg.split(b" ", 1)[0]) for arg in arguments if arg.startswith(wanted))
    return found


def is_running(process: ProcessId, tolerance: int = 0) -> bool:
    """True while the very process we started is alive (a zombie counts as ended).

    `tolerance` is how many clock ticks the recorded start may be off (older records took it from the clock).
    """
    ticks = start_ticks(process.pid)
    if ticks is None or (process.start is not None and abs(ticks - process.start) > tolerance):
        return False
    try:
        state = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def own_command() -> list[str]:
    """pbt-track itself by absolute path, for a job or script whose PATH is the training environment's."""
    return [os.path.abspath(sys.executable), "-m", "pbt_tracker"]


def leading_python(python: str | None) -> str:
    """What a local command's leading `python...` becomes: the training environment's, else this interpreter."""
    return python or os.path.abspath(sys.executable)


def command_argv(cmd: str, python: str | None = None) -> list[str]:
    """The command's words (`command_words`); a leading `python...` becomes `leading_python(python)`."""
    argv = command_words(cmd)
    if argv[0].startswith("python"):
        argv[0] = leading_python(python)
    return argv


_OPERATORS = ";|&<>()"


def command_words(cmd: str) -> list[str]:
    """An experiment's command as words, the one reading of it on every backend: a POSIX shell's word
    splitting (quotes and backslashes group, whitespace and line breaks separate), and nothing more.

    A local process gets these words as its argv, and a Slurm job script gets
    them each quoted where the shell would read it (`shlex.join`), so an
    ordinary command is written as it is and no value runs as code. What a
    shell would have expanded, run or redirected, and which the words would
    carry as it is, is refused: the command would mean one thing as the
    original launcher wrote it into a job script and another here.
    """
    short = cmd if len(cmd) <= 80 else cmd[:77] + "..."
    problem = _shell_only(cmd)
    if problem:
        raise RunDescriptionError(
            f"the command {short!r} has {problem}, which a shell would read but an experiment's words carry as it "
            "is; put that part in single quotes ('...') to pass it on literally, or remove it")
    try:
        words = shlex.split(cmd)
    except ValueError as error:
        raise RunDescriptionError(f"cannot split the command {short!r}: {error}; check its quotes") from None
    if not words:
        raise RunDescriptionError("an experiment has an empty command; give its Experiment a command")
    return words


def _shell_only(cmd: str) -> str | None:
    """What in `cmd` a shell reads differently from its words, described, or None."""
    if "\0" in cmd:
        return "a NUL character"
    quote, index, word_start = "", 0, True
    while index < len(cmd):
        char = cmd[index]
        if quote == "'":
            quote = "" if char == "'" else quote
        elif char == "\\" and cmd.startswith("\n", index + 1):
            return "a backslash before a line break"
        elif char in "$`":
            return f"{char!r} outside single quotes"
        elif quote == '"':
            if char == "\\" and cmd[index + 1:index + 2] in ("$", "`"):
                return f"a backslash before {cmd[index + 1]!r} in double quotes"
            quote = "" if char == '"' else quote
            index += char == "\\"
        elif char == "\\":
            index += 1
        elif char in "'\"":
            quote = char
        elif char in _OPERATORS:
            return f"{char!r} outside quotes"
        elif char == "\r":
            return "a carriage return outside quotes"
        elif char in "#~" and word_start:
            return f"{char!r} starting a word"
        word_start = char in " \t\n" and not quote
        index += 1
    return None


def spawn(argv: list[str], log_path: Path, env: dict[str, str], exit_file: Path,
          cwd: str | None = None) -> subprocess.Popen[bytes]:
    """Start `argv` under the exit-code keeper, in a process group of its own, output to `log_path`, in `cwd`.

    The keeper writes the exit code to `exit_file`, so that whoever looks
    later, even after this process has died, can tell how the experiment ended.
    """
    keeper = [sys.executable, "-m", "pbt_tracker.launcher.process_job", str(exit_file), "--", *argv]
    with open_append(log_path) as log:
        return subprocess.Popen(
            keeper, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            cwd=cwd,
        )


def terminate_groups(targets: list[ProcessId], grace: float | None = None) -> None:
    """SIGTERM every process group at once, then SIGKILL those still alive after `grace` seconds.

    Signalling all before waiting keeps a cancel of many experiments as short as a cancel of one.
    """
    from pbt_tracker.process_wait import wait_until_ended

    grace = settings.kill_grace() if grace is None else grace
    alive = [target for target in targets if is_running(target)]
    for target in alive:
        _signal_group(target.pid, signal.SIGTERM)
    alive = wait_until_ended(alive, grace, is_running)
    for target in alive:
        _signal_group(target.pid, signal.SIGKILL)
    wait_until_ended(alive, 5, is_running)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def read_exit_file(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
