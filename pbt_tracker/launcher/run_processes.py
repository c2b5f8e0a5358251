"""The local processes backend, with the original's flags, recorded in the workdir's database.

Without a cluster the same run description runs on this machine: at most
--max_parallel experiments at once, each with its output in a log file of
the workdir, each tracked like a Slurm job (its pid as job id), so that
`pbt-track report`, `cancel` and `resubmit-failed` work the same.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pbt_tracker.run_description import RunDescription


def add_os_parallelism_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--num_gpus", "--num-gpus", default=1, type=int, help="How many local GPUs to use")
    parser.add_argument(
        "--max_parallel", "--max-parallel", default=4, type=int, help="Maximum simultaneous experiments"
    )
    parser.add_argument(
        "--experiments_per_gpu",
        "--experiments-per-gpu",
        default=-1,
        type=int,
        help="How many experiments share one GPU (sets CUDA_VISIBLE_DEVICES); -1 leaves it alone",
    )
    return parser


def run(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Run every experiment locally and wait for them; 0 when all completed, 130 on Ctrl-C."""
    # Here, not at the top: the Slurm backend imports this module for its flags and needs no ORM.
    from pbt_tracker.tracker.local import ProcessesLaunchOptions, plan_processes_launch, run_processes_launch

    train_dir = getattr(args, "train_dir", "./train_dir")
    options = ProcessesLaunchOptions(
        workdir=Path(getattr(args, "workdir", None) or train_dir),
        run_module=getattr(args, "run", None) or run_description.run_name,
        train_dir=train_dir,
        experiment_suffix=run_description.experiment_suffix,
        pause_between=getattr(args, "pause_between", 1),
        max_parallel=args.max_parallel,
        num_gpus=args.num_gpus,
        experiments_per_gpu=args.experiments_per_gpu,
        recorded_options={key: value for key, value in sorted(vars(args).items())},
    )
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
