"""The PBT workspace reader must report what the iteration files say and never trip over odd files."""

import os
from pathlib import Path

import pytest

from pbt_tracker.pbt.workspace import PolicyProgress, find_workspace, read_policy_progress

PYYAML_STYLE = (
    "checkpoint: /x/000003.pth\n"
    "experiment_name: ant\n"
    "frame: 123\n"
    "iteration: 3\n"
    "params:\n"
    "  train.params.config.lr: 0.0003\n"
    "pbt_checkpoint: /x/000003.yaml\n"
    "true_objective: 1234.5\n"
)


def iteration_file(iteration, objective):
    return f"iteration: {iteration}\ntrue_objective: {objective}\nframe: {iteration * 100}\n"


def write_policy(workspace, policy_idx, files):
    policy_dir = workspace / f"{policy_idx:03d}"
    policy_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = policy_dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return policy_dir


# --- read_policy_progress ---------------------------------------------------------


def test_pyyaml_dump_style_file_as_isaacgymenvs_writes_it_is_read(tmp_path):
    write_policy(tmp_path, 0, {"000003.yaml": PYYAML_STYLE})

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 3, 1234.5, 1234.5)


def test_latest_is_the_highest_iteration_and_best_the_highest_objective(tmp_path):
    write_policy(tmp_path, 2, {
        "000001.yaml": iteration_file(1, 10.0),
        "000002.yaml": iteration_file(2, 30.5),
        "000010.yaml": iteration_file(10, 20.25),
    })

    assert read_policy_progress(tmp_path, 2) == PolicyProgress(2, 10, 20.25, 30.5)


def test_policy_directory_is_named_with_three_digits(tmp_path):
    write_policy(tmp_path, 1, {"000001.yaml": iteration_file(1, 5.0)})
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "000009.yaml").write_text(iteration_file(9, 99.0))

    assert read_policy_progress(tmp_path, 1) == PolicyProgress(1, 1, 5.0, 5.0)
    assert read_policy_progress(tmp_path, 11) == PolicyProgress(11, None, None, None)


def test_missing_policy_directory_gives_no_values(tmp_path):
    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, None, None, None)
    assert read_policy_progress(tmp_path / "no-such-workspace", 3) == PolicyProgress(3, None, None, None)


def test_directory_with_only_unreadable_files_gives_no_values(tmp_path):
    write_policy(tmp_path, 0, {
        "000001.yaml": "",
        "000002.yaml": "{{{ not: [yaml\n:::\n",
        "000003.yaml": b"\x00\xff\xfe\x89PNG\r\n\x1a\n\x00\x00",
        "000004.yaml": "iteration: 4\nframe: 400\n",
    })

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, None, None, None)


def test_half_written_and_broken_files_are_skipped_in_favour_of_complete_ones(tmp_path):
    write_policy(tmp_path, 0, {
        "000003.yaml": iteration_file(3, 50.0),
        "000004.yaml": "iteration: 4\ntrue_objective: 99",
        "000005.yaml": "iteration: 5\ntrue_obj",
        "000006.yaml": "",
        "000007.yaml": "garbage without any structure\n",
        "000008.yaml": b"\x00\x01\xff\xfe binary \xc3\x28\n",
        "000009.yaml": "iteration: 9\ntrue_objective: not-a-number\n",
        "000010.yaml": "iteration: ten\ntrue_objective: 70.0\n",
    })

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 3, 50.0, 50.0)


def test_files_whose_stem_is_not_an_integer_are_ignored(tmp_path):
    policy_dir = write_policy(tmp_path, 0, {
        "000002.yaml": iteration_file(2, 1.0),
        "best.yaml": iteration_file(50, 900.0),
        "3a.yaml": iteration_file(51, 901.0),
        "+7.yaml": iteration_file(52, 902.0),
        "1_0.yaml": iteration_file(53, 903.0),
        "-4.yaml": iteration_file(54, 904.0),
        "000005.yml": iteration_file(55, 905.0),
        ".000006.yaml.123.tmp": iteration_file(56, 906.0),
        "000007.pth": iteration_file(57, 907.0),
    })
    (policy_dir / "000008.yaml").mkdir()

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 2, 1.0, 1.0)


def test_unreadable_file_is_skipped(tmp_path):
    policy_dir = write_policy(tmp_path, 0, {"000001.yaml": iteration_file(1, 7.5)})
    os.symlink(tmp_path / "nowhere.yaml", policy_dir / "000002.yaml")

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 1, 7.5, 7.5)


def test_iteration_comes_from_the_file_and_from_the_name_only_when_missing(tmp_path):
    write_policy(tmp_path, 0, {
        "000001.yaml": "iteration: 12\ntrue_objective: 1.0\n",
        "000002.yaml": "true_objective: 2.0\n",
    })

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 12, 1.0, 2.0)


def test_only_top_level_keys_count(tmp_path):
    write_policy(tmp_path, 0, {
        "000001.yaml": "iteration: 1\nparams:\n  true_objective: 5000.0\n  iteration: 99\n",
        "000002.yaml": "iteration: 2\nparams:\n  true_objective: 5000.0\ntrue_objective: 3.0\n",
    })

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 2, 3.0, 3.0)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("-1000000000.0", -1000000000.0),
        ("1e-3", 0.001),
        ("12", 12.0),
        (".inf", float("inf")),
        ("-.inf", float("-inf")),
        ("  42.5  ", 42.5),
        ("1.0 # comment", 1.0),
    ],
)
def test_objective_number_formats(tmp_path, written, expected):
    write_policy(tmp_path, 0, {"000001.yaml": f"iteration: 1\ntrue_objective: {written}\n"})

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 1, expected, expected)


@pytest.mark.parametrize("written", [".nan", "nan", "", "null", "[1.0]", "yes", "{a: 1}"])
def test_objective_that_is_not_a_number_makes_the_file_unreadable(tmp_path, written):
    write_policy(tmp_path, 0, {
        "000001.yaml": iteration_file(1, 8.0),
        "000002.yaml": f"iteration: 2\ntrue_objective: {written}\n",
    })

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 1, 8.0, 8.0)


def test_windows_line_endings_are_read(tmp_path):
    write_policy(tmp_path, 0, {"000004.yaml": "iteration: 4\r\ntrue_objective: 6.25\r\n"})

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 4, 6.25, 6.25)


def test_negative_objectives_pick_the_highest_as_best(tmp_path):
    write_policy(tmp_path, 0, {
        "000001.yaml": iteration_file(1, -5.0),
        "000002.yaml": iteration_file(2, -1.5),
        "000003.yaml": iteration_file(3, -9.0),
    })

    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 3, -9.0, -1.5)


# --- find_workspace ------------------------------------------------------------


TOY_CMD = (
    "python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=4 pbt.workspace=workspace_toy_pbt "
    "pbt.interval_steps=1000 max_iterations=10 pbt.fail_once_policy=2 pbt.policy_idx=1 "
    "experiment=01_toy_pbt hydra.run.dir={run_dir}"
)


def test_toy_command_finds_the_workspace_under_runs_in_the_hydra_run_dir(tmp_path):
    run_dir = tmp_path / "train_dir" / "toy_pbt" / "toy_pbt_"
    (run_dir / "runs" / "workspace_toy_pbt").mkdir(parents=True)

    found = find_workspace(TOY_CMD.format(run_dir=run_dir), str(tmp_path / "elsewhere"))

    assert found == run_dir / "runs" / "workspace_toy_pbt"


def test_relative_hydra_run_dir_is_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train_dir" / "toy_pbt" / "toy_pbt_" / "runs" / "workspace_toy_pbt").mkdir(parents=True)

    found = find_workspace(TOY_CMD.format(run_dir="./train_dir/toy_pbt/toy_pbt_"), "./unused")

    assert found == Path("train_dir/toy_pbt/toy_pbt_/runs/workspace_toy_pbt")


def test_without_hydra_run_dir_the_experiment_train_dir_is_the_base(tmp_path):
    (tmp_path / "runs" / "ws").mkdir(parents=True)

    assert find_workspace("python train.py pbt.workspace=ws", str(tmp_path)) == tmp_path / "runs" / "ws"


def test_runs_subdirectory_wins_over_the_run_dir_itself(tmp_path):
    (tmp_path / "runs" / "ws").mkdir(parents=True)
    (tmp_path / "ws").mkdir()

    assert find_workspace(f"train pbt.workspace=ws hydra.run.dir={tmp_path}", "x") == tmp_path / "runs" / "ws"


def test_workspace_directly_in_the_run_dir_is_found_when_runs_has_none(tmp_path):
    (tmp_path / "ws").mkdir()

    assert find_workspace(f"train pbt.workspace=ws hydra.run.dir={tmp_path}", "x") == tmp_path / "ws"


def test_absolute_workspace_is_used_as_is(tmp_path):
    workspace = tmp_path / "shared" / "ws"
    workspace.mkdir(parents=True)

    found = find_workspace(f"train pbt.workspace={workspace} hydra.run.dir={tmp_path / 'run'}", "x")

    assert found == workspace


def test_absolute_workspace_that_does_not_exist_gives_none(tmp_path):
    (tmp_path / "runs").mkdir()

    assert find_workspace(f"train pbt.workspace={tmp_path / 'gone'} hydra.run.dir={tmp_path}", str(tmp_path)) is None


def test_command_without_pbt_workspace_gives_none(tmp_path):
    (tmp_path / "runs" / "ws").mkdir(parents=True)

    assert find_workspace(f"python train.py task=Ant hydra.run.dir={tmp_path}", str(tmp_path)) is None
    assert find_workspace(f"python train.py pbt.workspace= hydra.run.dir={tmp_path}", str(tmp_path)) is None
    assert find_workspace("", str(tmp_path)) is None


def test_workspace_that_does_not_exist_yet_gives_none(tmp_path):
    assert find_workspace(TOY_CMD.format(run_dir=tmp_path), str(tmp_path)) is None


def test_last_workspace_and_last_run_dir_tokens_win(tmp_path):
    (tmp_path / "b" / "runs" / "second").mkdir(parents=True)
    (tmp_path / "a" / "runs" / "first").mkdir(parents=True)
    cmd = (f"train pbt.workspace=first hydra.run.dir={tmp_path / 'a'} "
           f"pbt.workspace=second hydra.run.dir={tmp_path / 'b'}")

    assert find_workspace(cmd, "x") == tmp_path / "b" / "runs" / "second"


def test_quoted_arguments_with_spaces_are_split_like_a_shell(tmp_path):
    run_dir = tmp_path / "my run"
    (run_dir / "runs" / "my ws").mkdir(parents=True)

    assert find_workspace(f"train 'pbt.workspace=my ws' 'hydra.run.dir={run_dir}'", "x") == run_dir / "runs" / "my ws"


def test_unbalanced_quote_falls_back_to_splitting_on_whitespace(tmp_path):
    (tmp_path / "runs" / "ws").mkdir(parents=True)

    assert find_workspace(f"train task='Ant pbt.workspace=ws hydra.run.dir={tmp_path}", "x") == tmp_path / "runs" / "ws"


def test_hydra_append_prefix_is_understood(tmp_path):
    (tmp_path / "runs" / "ws").mkdir(parents=True)

    assert find_workspace(f"train +pbt.workspace=ws ++hydra.run.dir={tmp_path}", "x") == tmp_path / "runs" / "ws"


def test_similar_keys_are_not_mistaken_for_the_workspace(tmp_path):
    (tmp_path / "runs" / "ws").mkdir(parents=True)

    assert find_workspace(f"train my.pbt.workspace=ws pbt.workspace_dir=ws hydra.run.dir={tmp_path}", "x") is None
