"""A run of three seeds for the fake backend; its commands never run, the fake scheduler only holds them."""

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

RUN_DESCRIPTION = RunDescription(
    "seeds",
    experiments=[Experiment("fit", "python fit.py", ParamGrid([("seed", [1, 2, 3])]).generate_params(randomize=False))],
)
