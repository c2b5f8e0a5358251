"""A real PBT run in under a minute on a laptop: four toy policies, one of which crashes once.

Run it and follow it from another shell with
    pbt-track submit --run pbt_tracker.examples.toy_pbt --workdir demo
    pbt-track report --workdir demo --pbt
Policy 2 fails at its third iteration (exit code 3); bring it back with
    pbt-track resubmit-failed --workdir demo
and it resumes from its latest checkpoint. The policies write to
./train_dir/toy_pbt/toy_pbt_/runs/workspace_toy_pbt and resume from there,
so delete ./train_dir/toy_pbt to watch the whole run again.
"""

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

_name = "toy_pbt"
_num_policies = 4

_train_cmd = (
    f"python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies={_num_policies} "
    f"pbt.workspace=workspace_{_name} pbt.interval_steps=1000 max_iterations=10 pbt.fail_once_policy=2"
)

RUN_DESCRIPTION = RunDescription(
    _name,
    experiments=[
        Experiment(
            _name,
            _train_cmd,
            ParamGrid([("pbt.policy_idx", list(range(_num_policies)))]).generate_params(randomize=False),
        )
    ],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
