"""The toy PBT population of the continuity benchmark: PBT_TRACK_BENCH_POLICIES policies (default 4) of
PBT_TRACK_BENCH_ITERATIONS iterations (default 40) of PBT_TRACK_BENCH_ITERATION_SECONDS (default 3) each, and
PBT_TRACK_BENCH_EXTRA (default none: no crash, no journal) added to every policy's command."""

import os

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

_policies = int(os.environ.get("PBT_TRACK_BENCH_POLICIES", "4"))
_iterations = int(os.environ.get("PBT_TRACK_BENCH_ITERATIONS", "40"))
_seconds = float(os.environ.get("PBT_TRACK_BENCH_ITERATION_SECONDS", "3"))
_extra = os.environ.get("PBT_TRACK_BENCH_EXTRA", "")

RUN_DESCRIPTION = RunDescription(
    "toy_bench",
    experiments=[Experiment(
        "toy_bench",
        f"python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies={_policies} pbt.workspace=ws "
        f"pbt.interval_steps=1000 max_iterations={_iterations} toy.iteration_seconds={_seconds} "
        f"toy.cleanup_behind=1000 {_extra}".rstrip(),
        ParamGrid([("pbt.policy_idx", list(range(_policies)))]).generate_params(randomize=False),
    )],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
