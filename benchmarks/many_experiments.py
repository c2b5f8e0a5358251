"""A run with PBT_TRACK_BENCH_EXPERIMENTS experiments (default 1000): one per policy, commands that exit at once."""

import os

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

_count = int(os.environ.get("PBT_TRACK_BENCH_EXPERIMENTS", "1000"))

RUN_DESCRIPTION = RunDescription(
    "bench",
    experiments=[Experiment("bench", "true", ParamGrid([("pbt.policy_idx", list(range(_count)))]).generate_params(False))],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
