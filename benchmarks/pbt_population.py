"""A PBT run of PBT_TRACK_BENCH_POLICIES policies (default 64) sharing one workspace; commands that exit at once."""

import os

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

_count = int(os.environ.get("PBT_TRACK_BENCH_POLICIES", "64"))

RUN_DESCRIPTION = RunDescription(
    "bench_pbt",
    experiments=[Experiment("bench_pbt", f"true pbt.num_policies={_count} pbt.workspace=ws",
                            ParamGrid([("pbt.policy_idx", list(range(_count)))]).generate_params(False))],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
