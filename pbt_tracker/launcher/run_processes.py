"""The local processes backend: its flags, as the original launcher has them."""

from __future__ import annotations

import argparse

from pbt_tracker.errors import OptionError
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
    raise OptionError(
        "the processes backend is not available in this version of pbt-track; use --backend slurm"
    )
