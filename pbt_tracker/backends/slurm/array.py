"""Job arrays: the one script that runs each task's recorded script, and its sbatch command.

Pure functions, as for single jobs (`sbatch_script`): every task keeps its own
script and log; the array's script only picks task N's and runs it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pbt_tracker.backends.slurm.script import SlurmResources, sbatch_argv
from pbt_tracker.backends.slurm.tags import NAME_OPTION, without_tag


def interpreter(script_text: str) -> list[str]:
    """The program named by the script's `#!` line: each array task runs its script with it, as sbatch would."""
    first = script_text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return ["/bin/sh"]
    words = shlex.split(first[2:])
    return words or ["/bin/sh"]


def array_chunks(count: int, max_array_size: int) -> list[range]:
    """Positions 0..count-1 cut into arrays Slurm accepts: task ids run from 0 to MaxArraySize - 1."""
    size = max(1, max_array_size)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def array_spec(task_count: int, limit: int | None = None) -> str:
    """sbatch's --array value: tasks 0..N-1, with `%LIMIT` running at most that many at once."""
    spec = f"0-{task_count - 1}"
    return f"{spec}%{limit}" if limit else spec


@dataclass(frozen=True)
class ArrayTask:
    """What one array task runs: an experiment's recorded script, its output in that experiment's log."""

    script_path: Path
    script_text: str
    log_pattern: str


def render_array_script(directives: Iterable[str], tasks: list[ArrayTask]) -> str:
    """The array's own job script: it picks the task's recorded script by SLURM_ARRAY_TASK_ID and runs it.

    Each script runs under its own `#!` interpreter with its output in its own
    log, where `%j` is the task's id (`ARRAYJOB_TASK`), so every experiment
    looks in the record and on disk as it would have as a job of its own.
    """
    task_id = '"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"'
    lines = ["#!/bin/sh", *directives,
             "# Written by pbt-track: array task N runs the script of task N below, output to its own log.",
             'case "${SLURM_ARRAY_TASK_ID:-}" in']
    for number, task in enumerate(tasks):
        log = task_id.join(shlex.quote(part) for part in task.log_pattern.split("%j"))
        command = shlex.join([*interpreter(task.script_text), str(task.script_path)])
        lines.append(f"{number}) exec {command} >{log} 2>&1 ;;")
    lines += [
        '*) echo "pbt-track: this array has no task ${SLURM_ARRAY_TASK_ID:-(none)}" >&2; exit 2 ;;',
        "esac",
    ]
    return "\n".join(lines) + "\n"


def array_script_path(workdir: Path, launch_uuid: str, number: int) -> Path:
    return workdir / f"sbatch_array_{launch_uuid[:8]}_{number}.sh"


def array_log_path(workdir: Path, script: Path) -> str:
    """Slurm's own --output for array tasks (%A array job, %a task): what Slurm says before or after the task's script."""
    return f"{workdir}/{script.name}-slurm-%A_%a.out"


def array_sbatch_argv(
    script: Path, log_pattern: str, spec: str, resources: SlurmResources, comment: str | None = None,
    name: str | None = None,
) -> list[str]:
    """The single-job command with `--array`, for the array's own script."""
    argv = sbatch_argv(script, log_pattern, resources, comment, name)
    return [*argv[:-1], f"--array={spec}", argv[-1]]


def array_name(experiments: list[str]) -> str:
    """What all tasks of one array are called in squeue: the longer of their experiments' names' shared start
    and shared end, else `array`.

    `00_ant_pbt` ... `07_ant_pbt` make `ant_pbt`, and `ant_0` ... `ant_7`
    make `ant`; the tag's mark, added later, tells arrays apart.
    """
    separators = "_.-+=,:@"
    start = os.path.commonprefix(experiments).rstrip(separators)
    end = os.path.commonprefix([name[::-1] for name in experiments])[::-1].lstrip(separators)
    return max(start, end, key=len) or "array"


def sbatch_options(argv: list[str]) -> list[str] | None:
    """What an experiment's own sbatch command (as `sbatch_argv` builds it) asks for, without our tag, its job
    name, its --output and its script; None if the command is not one of those."""
    if len(argv) < 4 or argv[0] != "sbatch" or argv[-3] != "--output":
        return None
    return [arg for arg in without_tag(argv[1:-3]) if not arg.startswith(NAME_OPTION)]


def job_name_of(argv: list[str]) -> str | None:
    """The (unmarked) job name an experiment's own sbatch command gives, if it gives one."""
    return next((arg[len(NAME_OPTION):] for arg in without_tag(argv[1:]) if arg.startswith(NAME_OPTION)), None)


def array_argv_from(options: list[str], script: Path, log_pattern: str, spec: str,
                    name: str | None = None) -> list[str]:
    """The sbatch command of an array whose tasks' own commands had these `sbatch_options`."""
    named = [f"{NAME_OPTION}{name}"] if name else []
    return ["sbatch", *named, *options, "--output", log_pattern, f"--array={spec}", str(script)]
