"""The continuation of a PBT policy is the command line IsaacGymEnvs' own in-process restart would build."""

import shlex
from pathlib import Path

import yaml

from pbt_tracker.pbt.iteration_file import IterationRecord
from pbt_tracker.pbt.resume import (
    Continuation,
    Resumable,
    continuation_command,
    find_run_dir,
    latest_own_entry,
    restart_args,
    resumable_entry,
    resume_decision,
)
from pbt_tracker.pbt.workspace import WorkspaceEntry

ORIGINAL = (
    "python train.py task=Ant headless=True pbt=pbt_default pbt.policy_idx=2 pbt.num_policies=8 "
    "pbt.workspace=workspace_ant train.params.config.learning_rate=0.0005 "
    "experiment=02_ant hydra.run.dir=./train_dir/ant/ant_"
)
PARAMS = {"train.params.config.learning_rate": 0.00041, "task.env.actionScale": 1.2, "train.params.config.tau": 1e-05}


def entry(workspace, iteration=7, experiment="ant_24-10-00-00", params=PARAMS):
    path = workspace / "002" / f"{iteration:06d}.yaml"
    record = IterationRecord(iteration, 12.5, iteration * 1000, dict(params), "/old/place/000007.pth",
                             str(path), experiment)
    return WorkspaceEntry(2, f"002/{iteration:06d}.yaml", path, 0, record)


def test_continuation_replaces_the_restart_keys_and_every_param_and_appends_them_in_isaacgymenvs_order():
    workspace = Path("/runs/ant/ant_/runs/workspace_ant")

    continuation = continuation_command(ORIGINAL, entry(workspace), "/runs/ant/ant_")

    assert continuation == Continuation(
        "python train.py task=Ant headless=True pbt=pbt_default pbt.policy_idx=2 pbt.num_policies=8 "
        "pbt.workspace=workspace_ant experiment=02_ant "
        "hydra.run.dir=/runs/ant/ant_ ++pbt_restart=True +full_experiment_name=ant_24-10-00-00 "
        "checkpoint=/runs/ant/ant_/runs/workspace_ant/002/000007.pth "
        "train.params.config.learning_rate=0.00041 task.env.actionScale=1.2 train.params.config.tau=1e-05"
    )


def test_a_continuation_of_a_continuation_has_each_key_once():
    workspace = Path("/w")
    first = continuation_command(ORIGINAL, entry(workspace, 7), "/r").command

    second = shlex.split(continuation_command(first, entry(workspace, 9), "/r").command)

    keys = [token.partition("=")[0].lstrip("+") for token in second]
    assert sorted(set(keys)) == sorted(keys)
    assert second[-6:-3] == ["++pbt_restart=True", "+full_experiment_name=ant_24-10-00-00", "checkpoint=/w/002/000009.pth"]


def test_existing_keys_match_whatever_their_hydra_prefix():
    args = ["train.py", "+checkpoint=/a.pth", "full_experiment_name=x", "pbt_restart=False", "++hydra.run.dir=/o",
            "+train.params.config.tau=3", "seed=1", "headless"]

    assert restart_args(args, "/r", "ant_1", "/w/002/000001.pth", {"train.params.config.tau": 0.5}) == [
        "train.py", "seed=1", "headless", "hydra.run.dir=/r", "++pbt_restart=True", "+full_experiment_name=ant_1",
        "checkpoint=/w/002/000001.pth", "train.params.config.tau=0.5",
    ]


def test_unknown_experiment_name_and_checkpoint_are_left_out_as_isaacgymenvs_does():
    assert restart_args(["t.py", "a=1"], "/r", None, None, {"lr": True}) == [
        "t.py", "a=1", "hydra.run.dir=/r", "++pbt_restart=True", "lr=True"
    ]


def test_values_with_spaces_and_shell_syntax_survive():
    original = "cd '/my runs' && CUDA_VISIBLE_DEVICES=0 python train.py 'wandb_name=my run' out=$SCRATCH/x pbt.policy_idx=2"

    command = continuation_command(original, entry(Path("/my ws"), params={"a b": "x y"}), "/my runs/ant").command

    assert command == (
        "cd '/my runs' && CUDA_VISIBLE_DEVICES=0 python train.py 'wandb_name=my run' \"out=$SCRATCH/x\" pbt.policy_idx=2 "
        "'hydra.run.dir=/my runs/ant' ++pbt_restart=True +full_experiment_name=ant_24-10-00-00 "
        "'checkpoint=/my ws/002/000007.pth' 'a b=x y'"
    )


def test_a_policy_without_a_checkpoint_keeps_its_original_command_and_says_why():
    assert continuation_command(ORIGINAL, None, "/r") == Continuation(
        ORIGINAL, "the policy has no checkpoint in its workspace yet"
    )


def test_latest_own_entry_is_the_live_iteration_of_the_policy(tmp_path):
    for iteration in (1, 2):
        path = tmp_path / "002" / f"{iteration:06d}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.with_suffix(".pth").write_bytes(b"weights")
        path.write_text(yaml.dump({"iteration": iteration, "true_objective": 1.0, "params": {"lr": 0.1},
                                   "experiment_name": "ant_1"}))

    found = latest_own_entry(tmp_path, 2)

    assert (found.iteration, found.path) == (2, tmp_path / "002" / "000002.yaml")
    assert latest_own_entry(tmp_path, 3) is None
    assert continuation_command("t.py", found, "/r").command == (
        f"t.py hydra.run.dir=/r ++pbt_restart=True +full_experiment_name=ant_1 "
        f"checkpoint={tmp_path / '002' / '000002.pth'} lr=0.1"
    )


def test_run_dir_is_found_as_the_workspace_is_and_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert find_run_dir(ORIGINAL, "unused", "/launch") == Path("/launch/train_dir/ant/ant_")
    assert find_run_dir(ORIGINAL, "unused") == tmp_path / "train_dir" / "ant" / "ant_"
    assert find_run_dir("python train.py", "./train_dir/x", "/launch") == Path("/launch/train_dir/x")
    assert find_run_dir("python train.py hydra.run.dir=/abs", "x", "/launch") == Path("/abs")


def write_life(workspace: Path, iterations: range, with_checkpoint: set[int]) -> None:
    for iteration in iterations:
        path = workspace / "002" / f"{iteration:06d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if iteration in with_checkpoint:
            path.with_suffix(".pth").write_bytes(b"weights")
        path.write_text(yaml.dump({"iteration": iteration, "true_objective": 1.0, "params": {"lr": 0.1},
                                   "experiment_name": "ant_1"}))


def test_a_continuation_passes_over_an_iteration_whose_checkpoint_is_missing_and_says_so(tmp_path):
    write_life(tmp_path, range(1, 4), with_checkpoint={1, 2})  # 000003.pth pruned or never finished

    found = resumable_entry(tmp_path, 2)

    assert (found.entry.iteration, found.passed_over) == (2, (3,))
    assert latest_own_entry(tmp_path, 2).iteration == 2


def test_an_empty_checkpoint_file_is_not_a_checkpoint(tmp_path):
    write_life(tmp_path, range(1, 3), with_checkpoint={1, 2})
    (tmp_path / "002" / "000002.pth").write_bytes(b"")

    assert resumable_entry(tmp_path, 2) == resumable_entry(tmp_path, 2)._replace(passed_over=(2,))
    assert resumable_entry(tmp_path, 2).entry.iteration == 1


def test_a_policy_whose_every_checkpoint_is_gone_has_nothing_to_continue_from(tmp_path):
    write_life(tmp_path, range(1, 3), with_checkpoint=set())

    assert resumable_entry(tmp_path, 2) == Resumable(None, (2, 1))


def test_the_resume_decision_names_the_checkpoint_it_uses_and_the_iterations_it_passed_over(tmp_path):
    cmd = "python train.py pbt.policy_idx=2 pbt.workspace=ws hydra.run.dir=run"
    write_life(tmp_path / "run" / "runs" / "ws", range(1, 4), with_checkpoint={1})

    decision = resume_decision(cmd, {}, str(tmp_path), str(tmp_path))

    checkpoint = tmp_path / "run" / "runs" / "ws" / "002" / "000001.pth"
    assert (decision.iteration, decision.checkpoint) == (1, str(checkpoint))
    assert f"checkpoint={checkpoint}" in decision.command
    assert decision.message == (
        f"continues policy 2 from iteration 1 (checkpoint {checkpoint}); passed over iteration(s) 3, 2, "
        "whose checkpoint file is missing or empty"
    )


def test_without_any_checkpoint_on_disk_the_decision_says_the_policy_starts_over(tmp_path):
    cmd = "python train.py pbt.policy_idx=2 pbt.workspace=ws hydra.run.dir=run"
    write_life(tmp_path / "run" / "runs" / "ws", range(1, 3), with_checkpoint=set())

    decision = resume_decision(cmd, {}, str(tmp_path), str(tmp_path))

    assert (decision.continues, decision.command) == (False, cmd)
    assert decision.message == (
        "policy 2 has no checkpoint on disk: starts from its original command; passed over iteration(s) 2, 1, "
        "whose checkpoint file is missing or empty"
    )
