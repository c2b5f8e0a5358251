"""The keeper as a small Slurm job of its own, recorded like any launch, that hands over to its continuation.

A login node may not keep processes for days; a one-CPU job can. Slurm sends
it USR1 two minutes before its time limit (`--signal=B:USR1@120`); it then
submits the next keeper job with the same options and stops, releasing the
lease, which the next one takes when it starts. Each keeper job is an attempt
of the one experiment of run `pbt-track-keeper`, so `report` and `cancel`
reach it as they reach the experiments it keeps.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pbt_tracker import processes, states
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.answers import Answers
from pbt_tracker.backends.slurm.tags import NAME_OPTION, submission_tag, with_tag
from pbt_tracker.backends.slurm.timeout import is_slurm_time
from pbt_tracker.errors import OptionError
from pbt_tracker.files import write_text_atomic
from pbt_tracker.launch.record import Echo, SubmittedJob, quiet, sha256_text
from pbt_tracker.store import Store, keeper_job, utcnow, writes
from pbt_tracker.store.keeper import KEEPER_RUN
from pbt_tracker.store.keeper_job import KeeperLaunch
from pbt_tracker.store.new_rows import NewExperiment, NewScript, NewSubmission, insert

CONTINUE_BEFORE_SECONDS = 120
JOB_FLAG = "--as-keeper-job"


def keeper_script(pbt_track: Sequence[str], watch_args: Sequence[str], time_limit: str, partition: str | None) -> str:
    """The job script: the keeper is the batch step itself (exec), so USR1 reaches it.

    `pbt_track` is the command of the pbt-track writing it, by absolute path
    (`processes.own_command`): the job's PATH may be a training environment's.
    """
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={KEEPER_RUN}",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --ntasks=1",
        f"#SBATCH --time={time_limit}",
        f"#SBATCH --signal=B:USR1@{CONTINUE_BEFORE_SECONDS}",
    ]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    lines.append("exec " + shlex.join([*pbt_track, "watch", *watch_args, JOB_FLAG]))
    return "\n".join(lines) + "\n"


def check_time_limit(value: str) -> str:
    if not is_slurm_time(value) or value.upper() in {"0", "UNLIMITED", "INFINITE"}:
        raise OptionError(f"--keeper-time {value!r} is not a Slurm time limit such as 24:00:00 or 1-00:00:00; "
                          "the keeper needs one to hand over to its continuation")
    return value


def submit_keeper(store: Store, watch_args: Sequence[str], time_limit: str, partition: str | None,
                  echo: Echo = quiet) -> SubmittedJob:
    """Record and submit one keeper job: the first, or the continuation of the one running this."""
    slurm.require_command("sbatch")
    own_job = os.environ.get("SLURM_JOB_ID")
    script = store.workdir / f"sbatch_{KEEPER_RUN}.sh"
    text = keeper_script(processes.own_command(), watch_args, time_limit, partition)
    log = str(store.workdir / f"sbatch_{KEEPER_RUN}.sh-slurm-%j.out")
    now = utcnow()
    with store.write() as connection:
        others = [job for job in keeper_job.active_keeper_jobs(connection) if job != own_job]
        if others:
            raise OptionError(f"a keeper job is already queued or running for this workdir ({', '.join(map(str, others))}); "
                              f"cancel it first (pbt-track cancel --run {KEEPER_RUN}) to start another")
        found = keeper_job.keeper_launch(connection) or _record_launch(connection, store.workdir, text, now)
        script_id = insert(connection, NewScript(
            experiment_id=found.experiment_id, path=str(script), text=text, sha256=sha256_text(text), created_at=now,
        ))
        argv = ["sbatch", f"{NAME_OPTION}{KEEPER_RUN}", "--parsable", "--output", log, str(script)]
        me = processes.this_process()
        submission_id = insert(connection, NewSubmission(
            experiment_id=found.experiment_id, script_id=script_id, attempt=(found.attempt or 0) + 1,
            argv=argv, log_path=log, state=states.SUBMITTING, intended_at=now, updated_at=now,
            host=me.host, runner_pid=me.pid, runner_start=me.start,
        ))
        writes.add_state_change(connection, submission_id, states.SUBMITTING, now,
                                "continuation of the keeper" if own_job else "keeper")
        argv = with_tag(argv, submission_tag(found.uuid, submission_id))
        writes.set_argv(connection, submission_id, argv)
    write_text_atomic(script, text, executable=True)
    answers = Answers(store, echo)
    job = answers.add(submission_id, KEEPER_RUN, argv, slurm.submit(argv))
    answers.flush()
    return job


def _record_launch(connection: sqlite3.Connection, workdir: Path, text: str, now: datetime) -> KeeperLaunch:
    from pbt_tracker.launch.record import launch_values
    from pbt_tracker.run_description import RunDescription

    launch = launch_values(
        workdir, RunDescription(KEEPER_RUN, experiments=[]), backend=SLURM, run_module="pbt_tracker.keeper",
        train_dir=str(workdir), experiment_suffix="", recorded_options={}, template_path=None, template_text=text,
        print_only=False,
    )
    launch_id = insert(connection, launch)
    experiment_id = insert(connection, NewExperiment(
        launch_id=launch_id, position=0, name=KEEPER_RUN, base_name=KEEPER_RUN, cmd=text.splitlines()[-1],
        params={}, env_vars=None, root_dir=str(workdir), train_dir=str(workdir),
    ))
    return KeeperLaunch(launch_id, launch.uuid, experiment_id, 0)
