"""PBT on IsaacGymEnvs' Ant: four policies of one population, one job each.

Launch it on a cluster with
    pbt-track submit --run pbt_tracker.examples.ant_pbt --backend slurm --slurm_workdir ./slurm_logs
or preview the jobs anywhere with --slurm_print_only true.
"""

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

_name = "ant_pbt_v1"
_num_policies = 4

_train_cmd = (
    "python -m isaacgymenvs.train task=Ant headless=True max_iterations=10000 num_envs=2048 seed=-1 "
    f"pbt=pbt_default pbt.num_policies={_num_policies} pbt.workspace=workspace_{_name} "
    "pbt.interval_steps=5000000 pbt.start_after=10000000 pbt.initial_delay=10000000 pbt/mutation=ant_mutation"
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
