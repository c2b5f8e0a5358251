"""The Slurm backend with the original launcher's API, flags and output, made stateful.

`run_slurm(run_description, args)` behaves like the launcher people know:
one sbatch script per experiment in the workdir, one sbatch each, a tail -f
hint and scancel.sh. In addition every script, submission and job id goes
into the workdir's database, and a failed sbatch no longer ends the launch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pbt_tracker.errors import OptionError
from pbt_tracker.run_description import RunDescription
from pbt_tracker.sbatch_script import SBATCH_TEMPLATE_DEFAULT, SlurmResources, tail_hint
from pbt_tracker.tracker.launch import LaunchResult, SlurmLaunchOptions, plan_slurm_launch, submit_slurm_launch

__all__ = ["SBATCH_TEMPLATE_DEFAULT", "add_slurm_args", "run_slurm", "str2bool"]


def str2bool(v: object) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() == "true":
        return True
    if isinstance(v, str) and v.lower() == "false":
        return False
    raise argparse.ArgumentTypeError("Boolean value expected (true or false)")


def add_slurm_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--slurm_gpus_per_job", "--slurm-gpus-per-job", default=1, type=int, help="GPUs in a single SLURM process"
    )
    parser.add_argument(
        "--slurm_cpus_per_gpu",
        "--slurm-cpus-per-gpu",
        default=16,
        type=int,
        help="Max allowed number of CPU cores per allocated GPU",
    )
    parser.add_argument(
        "--slurm_print_only",
        "--slurm-print-only",
        default=False,
        type=str2bool,
        help="Just print commands to the console without executing (true/false)",
    )
    parser.add_argument(
        "--slurm_workdir",
        "--slurm-workdir",
        default=None,
        type=str,
        help="Workdir for sbatch scripts, logs, scancel.sh and the pbt-track database (same as --workdir)",
    )
    parser.add_argument(
        "--slurm_partition",
        "--slurm-partition",
        default=None,
        type=str,
        help='Slurm partition, i.e. for "gpu" it will add "-p gpu" to the sbatch command line',
    )
    parser.add_argument(
        "--slurm_sbatch_template",
        "--slurm-sbatch-template",
        default=None,
        type=str,
        help="File with the sbatch script template ($CMD $FILENAME $PARTITION $GPU $CPU $TIMEOUT)",
    )
    parser.add_argument(
        "--slurm_array",
        "--slurm-array",
        nargs="?",
        const=True,
        default=False,
        type=str2bool,
        help="Send experiments with the same #SBATCH lines as one sbatch --array (true/false; alone means true)",
    )
    parser.add_argument(
        "--slurm_array_limit",
        "--slurm-array-limit",
        default=None,
        type=int,
        help="With --slurm_array: run at most this many tasks of each array at once (sbatch --array=...%%N)",
    )
    parser.add_argument(
        "--slurm_timeout",
        "--slurm-timeout",
        default="0",
        type=str,
        help="Job time limit given to the template as $TIMEOUT. Defaults to 0, which does not time out the job",
    )
    return parser


def slurm_options_from_args(args: argparse.Namespace, run_description: RunDescription) -> SlurmLaunchOptions:
    workdir = getattr(args, "slurm_workdir", None) or getattr(args, "workdir", None)
    if not workdir:
        raise OptionError("the Slurm backend needs a workdir; pass --slurm_workdir DIR (or --workdir DIR)")
    resources = SlurmResources(
        gpus_per_job=args.slurm_gpus_per_job,
        cpus_per_gpu=args.slurm_cpus_per_gpu,
        partition=args.slurm_partition,
        timeout=str(args.slurm_timeout),
    )
    return SlurmLaunchOptions(
        workdir=Path(workdir),
        run_module=getattr(args, "run", None) or run_description.run_name,
        train_dir=getattr(args, "train_dir", "./train_dir"),
        experiment_suffix=run_description.experiment_suffix,
        pause_between=getattr(args, "pause_between", 1),
        resources=resources,
        template_path=args.slurm_sbatch_template,
        print_only=bool(args.slurm_print_only),
        array=bool(getattr(args, "slurm_array", False)),
        array_limit=getattr(args, "slurm_array_limit", None),
        recorded_options={key: value for key, value in sorted(vars(args).items())},
    )


def run_slurm(run_description: RunDescription, args: argparse.Namespace) -> int:
    """Write, record and submit one sbatch script per experiment; 0 when every job was queued."""
    options = slurm_options_from_args(args, run_description)
    plan = plan_slurm_launch(run_description, options)

    print(f"Starting processes with base cmds: {[e.cmd for e in run_description.experiments]}")
    for warning in plan.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print(f"Sbatch template: {plan.template_text}")

    result = submit_slurm_launch(plan, echo=print)
    for line in summary_lines(result):
        print(line)
    return 1 if result.failed else 0


def summary_lines(result: LaunchResult) -> list[str]:
    lines = []
    if result.print_only:
        lines.append(f"Print only: {len(result.jobs)} sbatch scripts written, nothing submitted.")
    else:
        lines.append(f"Monitor log files using\n\n\t {tail_hint(result.workdir)} \n")
        lines.append(f"Jobs queued: {result.job_ids!r}")
        if result.job_ids:
            lines.append(f"Use this command to cancel your jobs: \n\t scancel {' '.join(result.cancel_ids)} \n")
        lines.append(f"{result.workdir / 'scancel.sh'} cancels every job of this workdir that may still run.")
    for job in result.failed:
        lines.append(f"FAILED to submit {job.experiment}: {job.error}")
    lines.append(f"Recorded in {result.db_path} (launch {result.launch_id})")
    if result.failed:
        lines.append(f"{len(result.failed)} of {len(result.jobs)} experiments were not submitted.")
    else:
        lines.append("Done!")
    return lines
