"""A local launch from either command line: run here, waited for, told as the original launcher tells it.

Both command lines print the same: the base commands, the parallelism,
where the logs are and how to follow the run, then each end and a summary.
"""

from __future__ import annotations

from pbt_tracker.files import absolute
from pbt_tracker.backends.processes.launch import plan_processes_launch, run_processes_launch
from pbt_tracker.backends.processes.options import ProcessesLaunchOptions
from pbt_tracker.run_description import RunDescription

__all__ = ["launch_processes"]


def launch_processes(run_description: RunDescription, options: ProcessesLaunchOptions) -> int:
    planned = plan_processes_launch(run_description, options)
    workdir = absolute(options.workdir)
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
