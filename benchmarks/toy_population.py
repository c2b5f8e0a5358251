"""The toy PBT population of four for the continuity benchmark: PBT_TRACK_BENCH_ITERATIONS iterations
(default 40) of PBT_TRACK_BENCH_ITERATION_SECONDS (default 3) each, no crash."""

import os

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

_iterations = int(os.environ.get("PBT_TRACK_BENCH_ITERATIONS", "40"))
_seconds = float(os.environ.get("PBT_TRACK_BENCH_ITERATION_SECONDS", "3"))

RUN_DESCRIPTION = RunDescription(
    "toy_bench",
    experiments=[Experiment(
        "toy_bench",
        "python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=4 pbt.workspace=ws pbt.interval_steps=1000 "
        f"max_iterations={_iterations} toy.iteration_seconds={_seconds} toy.cleanup_behind=1000",
        ParamGrid([("pbt.policy_idx", [0, 1, 2, 3])]).generate_params(randomize=False),
    )],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
