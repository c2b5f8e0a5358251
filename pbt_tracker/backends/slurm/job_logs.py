"""Slurm's own job logs, made their owner's as soon as the job id is known.

slurmstepd creates a job's `--output` file with the job's umask, 0644 under
the usual 022, and the log holds what the job prints: commands, paths, and
whatever the training code says. pbt-track cannot choose that mode, but it
knows the file's name once sbatch has answered: it creates the file (empty,
never truncating one the job already writes) and sets its mode, which Slurm
keeps when it opens the file, on a requeue too.
"""

from __future__ import annotations

import os

from pbt_tracker.files import file_mode


def log_files(argv: list[str], job_id: str) -> list[str]:
    """The files a job just submitted with `argv` writes its output to: its --output with %j, or for an array
    %A and %a, filled in; none where the pattern holds another placeholder pbt-track cannot fill."""
    pattern = _option(argv, "--output")
    if pattern is None:
        return []
    array = _option(argv, "--array")
    if array is None:
        paths = [pattern.replace("%j", job_id)]
    else:
        paths = [pattern.replace("%A", job_id).replace("%a", str(task)) for task in array_tasks(array)]
    return [path for path in paths if "%" not in path]


def array_tasks(spec: str) -> list[int]:
    """The task ids of an --array spec (`0-9`, `0,2,5`, `0-10:2`, each with an optional `%limit`)."""
    tasks: list[int] = []
    for part in spec.split("%", 1)[0].split(","):
        bounds, _, step = part.partition(":")
        first, _, last = bounds.partition("-")
        if not first.isdigit() or (last and not last.isdigit()) or (step and not step.isdigit()):
            return []
        tasks.extend(range(int(first), int(last or first) + 1, int(step or 1)))
    return tasks


def make_logs_private(argv: list[str], job_id: str) -> None:
    """Create the job's log files with pbt-track's file mode, or give existing ones that mode; best effort."""
    mode = file_mode()
    for path in log_files(argv, job_id):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode))
            os.chmod(path, mode)
        except OSError:
            continue  # a folder that is gone, a file of another user's: the job's own business


def _option(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


__all__ = ["array_tasks", "log_files", "make_logs_private"]
