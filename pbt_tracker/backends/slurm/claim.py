"""The lines every job script pbt-track writes carries right after its #SBATCH block: claim, then ask the guard.

The record can be wrong (a lost sbatch answer, a killed keeper, a cancel
that raced a start), and Slurm reruns a job's script from its first line
when it requeues it. So a script does not trust the record alone to keep
one copy of its experiment running: it first takes a lock that belongs to
the experiment, held on a spare file descriptor that every process of the
job inherits, so the kernel gives it back the moment the job's last
process dies; then `pbt-track guard` checks the record and says how this
start must run (as written, a continuation to `exec`, or not at all).

Pure functions of their inputs, pinned by tests on literal strings: every
value is quoted for the one place it lands in, and a value no quoting can
keep on its own line is refused before anything is written.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from pbt_tracker.backends.slurm.array import interpreter
from pbt_tracker.errors import TemplateError
from pbt_tracker.files import file_mode, make_dirs

CLAIM_FD = 8
"""The descriptor the claim is held on: a single digit, which every Bourne shell's redirections take."""

CLAIM_DIR = ".pbt-track"
"""Beside the experiment's own files, in its train dir, so that every launch of it finds the same claim."""

STOP = "stop"
"""What the guard prints when the job must not run its experiment."""

# Shells whose syntax the claim lines are written in; a template under any other interpreter is refused.
_BOURNE_SHELLS = frozenset({"sh", "bash", "dash", "ash", "ksh", "ksh93", "mksh", "pdksh", "zsh", "yash", "posh"})


@dataclass(frozen=True)
class Claim:
    """Who a job script is: its experiment, by its launch's uuid and name, and the script's own path."""

    claim_file: str
    python: str  # the interpreter pbt-track runs under, so a job whose PATH is the training env still finds it
    workdir: str
    launch_uuid: str
    experiment: str
    script: str
    tmpdir: str | None = None  # a PBT policy's TMPDIR on the shared filesystem (`pbt.decisions.COPY_DIR`)

    def guard_argv(self) -> list[str]:
        return [self.python, "-m", "pbt_tracker", "guard", "--workdir", self.workdir, "--launch", self.launch_uuid,
                "--experiment", self.experiment, "--script", self.script]


def claim_file(train_dir: str, cwd: str, experiment: str) -> str:
    """The experiment's claim file: `<train dir>/.pbt-track/<experiment>.lock`, the train dir taken from `cwd`."""
    return os.path.join(cwd, train_dir, CLAIM_DIR, f"{experiment}.lock")


def make_claim_file(path: str) -> None:
    """Made by pbt-track rather than by the job's shell, so it gets pbt-track's modes (`file_mode`)."""
    make_dirs(os.path.dirname(path))
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, file_mode()))


def claim_lines(claim: Claim, shell: list[str]) -> list[str]:
    """The lines themselves; `shell` is the script's own `#!` program, which runs a continuation the guard wrote.

    `true >>FILE` first: a failed redirection of `exec` ends a POSIX shell
    before it can say why, while a failed `true` only fails.
    """
    for what, value in (("claim file", claim.claim_file), ("interpreter", claim.python),
                        ("workdir", claim.workdir), ("script", claim.script), ("tmpdir", claim.tmpdir or "")):
        check_inert(what, value)
    lock = shlex.quote(claim.claim_file)
    return [
        *tmpdir_lines(claim.tmpdir),
        "# pbt-track: claim this experiment, then ask its record how this start runs (README: Guarantees)",
        f"true >>{lock} && exec {CLAIM_FD}>>{lock} || "
        "{ echo 'pbt-track: the claim file cannot be opened, so this job does not run its experiment' >&2; exit 1; }",
        f"pbt_track_start=$({shlex.join(claim.guard_argv())}) || exit",
        f"case $pbt_track_start in {STOP}) exit 0 ;; "
        f'?*) unset SLURM_RESTART_COUNT; exec {shlex.join(shell)} "$pbt_track_start" ;; esac',
    ]


def tmpdir_lines(tmpdir: str | None) -> list[str]:
    """A PBT policy's temporary files on the shared filesystem: IsaacGymEnvs copies the checkpoint a replacement
    restarts from into `tempfile.gettempdir()`, which a continuation on another node cannot read from a node's
    /tmp. Exported before the guard, so a continuation it execs has it too; where it cannot be made, the job
    keeps the node's own and says so."""
    if tmpdir is None:
        return []
    quoted = shlex.quote(tmpdir)
    return [
        "# pbt-track: temporary files (IsaacGymEnvs' restart checkpoints) where any node's continuation finds them",
        f"if mkdir -p {quoted}; then export TMPDIR={quoted}; "
        "else echo 'pbt-track: TMPDIR stays node-local; a continuation elsewhere cannot carry a PBT restart' >&2; fi",
    ]


def check_inert(what: str, value: str) -> None:
    """Refuse what quoting cannot keep on its line: line breaks and NUL, which no path of ours needs."""
    if any(char in value for char in "\n\r\0"):
        raise TemplateError(f"the {what} {value!r} holds a line break or a NUL, which a job script's claim lines "
                            "cannot carry; choose a path without one")


def with_claim(script_text: str, claim: Claim) -> str:
    """The script with the claim lines after its #SBATCH block (or its `#!` line), which sbatch reads up to
    the first command; every line of the script stays, in order."""
    lines = script_text.splitlines(keepends=True)
    position = claim_position(lines)
    head = "".join(lines[:position])
    if head and not head.endswith("\n"):
        head += "\n"
    added = "".join(f"{line}\n" for line in claim_lines(claim, interpreter(script_text)))
    return head + added + "".join(lines[position:])


def claim_position(lines: list[str]) -> int:
    """How many lines come before the claim: the `#!` line and the #SBATCH lines sbatch reads after it."""
    if not lines or not lines[0].startswith("#!"):
        return 0
    position = 1
    for index, line in enumerate(lines[1:], start=1):
        stripped = line.strip()
        if stripped.startswith("#SBATCH"):
            position = index + 1
        elif stripped and not stripped.startswith("#"):
            break
    return position


def check_shell(template_text: str, source: str) -> None:
    """The claim lines are Bourne shell: refuse a template whose `#!` line names another interpreter."""
    words = interpreter(template_text)
    program = os.path.basename(words[0])
    if program == "env":
        rest = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        program = os.path.basename(rest[0]) if rest else program
    if program not in _BOURNE_SHELLS:
        raise TemplateError(
            f"template {source} runs under {shlex.join(words)} (its #! line); the lines pbt-track adds to claim "
            "an experiment need a Bourne shell: sh, bash, dash, ksh or zsh"
        )
