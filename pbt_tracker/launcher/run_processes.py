"""The local processes backend, with the original's flags, recorded in the workdir's database.

Without a cluster the same run description runs on this machine: at most
--max_parallel experiments at once, each with its output in a log file of
the workdir, each tracked like a Slurm job (its pid as job id), so that
`pbt-track report`, `cancel` and `resubmit-failed` work the same.
"""

from __future__ import annotations

import argparse
from typing import cast

from pbt_tracker.backends.options import add_arguments, launch_options
from pbt_tracker.backends.processes import NAME as PROCESSES
from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
from pbt_tracker.run_description import RunDescription


def add_os_parallelism_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return add_arguments(parser, PROCESSES)


def run(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Run every experiment locally and wait for them; 0 when all completed, 130 on Ctrl-C."""
    values = {**vars(args), "experiment_suffix": run_description.experiment_suffix}
    options = cast(ProcessesLaunchOptions, launch_options(values, PROCESSES, run_name=run_description.run_name))
    return launch_processes(run_description, options)


def launch_processes(run_description: RunDescription, options: ProcessesLaunchOptions) -> int:
    # Here, not at the top: a Slurm launch imports this module too, and needs no ORM.
    from pbt_tracker.backends.processes.launch import plan_processes_launch, run_processes_launch

    planned = plan_processes_launch(run_description, options)
    workdir = options.workdir.absolute()
    print(f"Starting processes with base cmds: {[e.cmd for e in run_description.experiments]}")
    print(f"Max parallel processes is {options.max_parallel}")
    print(f"Monitor log files using\n\n\ttail -f {workdir}/*.log\n")
    print(f"Follow the run from another shell with\n\n\tpbt-track report --workdir {workdir}\n", flush=True)

    result = run_processes_launch(run_description, options, planned, echo=lambda line: print(line, flush=True))

    failed = [o for o in result.failed if o.state != "CANCELLED"]
    if failed:
        print("Failed processes:", ", ".join(f"{o.experiment} (pid {o.pid}, code {o.exit_code})" for o in failed))
    print(f"Recorded in {result.db_path} (launch {result.launch_id})")
    if result.interrupted:
        print("Interrupted: the experiments still running were stopped and recorded as CANCELLED.")
        return 130
    print("Done!" if not result.failed else f"{len(result.failed)} of {len(result.outcomes)} experiments did not complete.")
    return 1 if result.failed else 0
