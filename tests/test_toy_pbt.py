"""The demo run: a real, tiny PBT population writing IsaacGymEnvs' workspace layout."""

import json
import re
import subprocess
import sys

from pbt_tracker.examples.toy_pbt import RUN_DESCRIPTION
from pbt_tracker.examples.toy_pbt_train import parse_settings
from pbt_tracker.pbt_workspace import PolicyProgress, find_workspace, read_policy_progress

TOP_LEVEL_KEYS = ["iteration", "true_objective", "frame", "params", "checkpoint", "experiment_name"]
INTERVAL_STEPS = 100
TIMEOUT = 60


def policy_args(run_dir, policy_idx, *extra):
    return [
        sys.executable, "-m", "pbt_tracker.examples.toy_pbt_train",
        "pbt.num_policies=2", "pbt.workspace=ws_test", f"pbt.interval_steps={INTERVAL_STEPS}",
        "max_iterations=6", "toy.iteration_seconds=0.1", "pbt.fail_once_policy=-1",
        f"pbt.policy_idx={policy_idx}", f"experiment=0{policy_idx}_toy", f"hydra.run.dir={run_dir}", *extra,
    ]


def start(run_dir, policy_idx, *extra):
    return subprocess.Popen(policy_args(run_dir, policy_idx, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=run_dir.parent)


def finish(process):
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return process.returncode, stdout, stderr


def run(run_dir, policy_idx, *extra):
    return finish(start(run_dir, policy_idx, *extra))


def parse_yaml(path):
    """The toy's files as a plain YAML reader sees them: top-level scalars plus the params mapping."""
    top, params, keys = {}, {}, []
    for line in path.read_text().splitlines():
        if line.startswith("  "):
            name, value = line.strip().split(": ")
            params[name] = float(value)
        else:
            key, _, value = line.partition(":")
            keys.append(key)
            top[key] = value.strip()
    return keys, top, params


def objective_of(path):
    return float(parse_yaml(path)[1]["true_objective"])


def names(policy_dir):
    return sorted(path.name for path in policy_dir.iterdir())


def iteration_files(*iterations):
    return sorted([f"{i:06d}.yaml" for i in iterations] + [f"{i:06d}.json" for i in iterations])


def progress_iterations(stdout, policy_idx):
    return [int(match) for match in re.findall(rf"^Policy {policy_idx}: iteration (\d+)/6 ", stdout, re.M)]


# --- the run description -----------------------------------------------------------


def test_run_description_expands_to_four_policies_of_one_population():
    specs = RUN_DESCRIPTION.experiment_specs("./train_dir")

    base = (
        "python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=4 pbt.workspace=workspace_toy_pbt "
        "pbt.interval_steps=1000 max_iterations=10 pbt.fail_once_policy=2"
    )
    assert [spec.name for spec in specs] == ["00_toy_pbt", "01_toy_pbt", "02_toy_pbt", "03_toy_pbt"]
    assert [spec.cmd for spec in specs] == [
        f"{base} pbt.policy_idx={i} experiment=0{i}_toy_pbt hydra.run.dir=./train_dir/toy_pbt/toy_pbt_"
        for i in range(4)
    ]
    assert [spec.params for spec in specs] == [{"pbt.policy_idx": i} for i in range(4)]
    assert {spec.train_dir for spec in specs} == {"./train_dir/toy_pbt/toy_pbt_"}
    assert {spec.root_dir for spec in specs} == {"toy_pbt/toy_pbt_"}


def test_arguments_are_hydra_style_with_unknown_keys_ignored_and_the_last_repeat_winning():
    settings = parse_settings([
        "max_iterations=3", "task=Ant", "headless", "pbt.policy_idx=1", "max_iterations=5",
        "+seed=4", "hydra.run.dir=/a", "hydra.run.dir=/b", "toy.iteration_seconds=0.25",
    ])

    assert (settings.max_iterations, settings.policy_idx, settings.seed, settings.run_dir) == (5, 1, 4, "/b")
    assert settings.iteration_seconds == 0.25
    assert settings.num_policies == 4


# --- the training script, for real ---------------------------------------------------


def test_two_policies_in_parallel_write_isaacgymenvs_iteration_files_and_one_crashes_once(tmp_path):
    run_dir = tmp_path / "run"
    workspace = run_dir / "runs" / "ws_test"
    policy_0 = start(run_dir, 0, "pbt.fail_once_policy=1")
    policy_1 = start(run_dir, 1, "pbt.fail_once_policy=1")
    code_0, stdout_0, _ = finish(policy_0)
    code_1, stdout_1, stderr_1 = finish(policy_1)

    assert code_0 == 0
    assert progress_iterations(stdout_0, 0) == [1, 2, 3, 4, 5, 6]
    assert names(workspace / "000") == iteration_files(1, 2, 3, 4, 5, 6)
    for iteration in range(1, 7):
        keys, top, params = parse_yaml(workspace / "000" / f"{iteration:06d}.yaml")
        assert keys == TOP_LEVEL_KEYS
        assert top["iteration"] == str(iteration)
        assert top["frame"] == str(iteration * INTERVAL_STEPS)
        assert isinstance(float(top["true_objective"]), float)
        assert top["params"] == ""
        assert sorted(params) == ["learning_rate", "noise_scale"]
        assert all(value > 0 for value in params.values())
        checkpoint = workspace / "000" / f"{iteration:06d}.json"
        assert top["checkpoint"] == str(checkpoint)
        assert json.loads(checkpoint.read_text())["iteration"] == iteration
        assert top["experiment_name"] == '"00_toy"'

    assert code_1 == 3
    assert "Policy 1: simulated crash during iteration 3" in stderr_1
    assert progress_iterations(stdout_1, 1) == [1, 2]
    assert names(workspace / "001") == iteration_files(1, 2)
    assert (run_dir / "fail_once_policy_1").is_file()

    code_again, stdout_again, _ = run(run_dir, 1, "pbt.fail_once_policy=1")

    assert code_again == 0
    assert stdout_again.splitlines()[0] == (
        f"Policy 1: resuming from iteration 2 ({workspace / '001' / '000002.json'})"
    )
    assert progress_iterations(stdout_again, 1) == [3, 4, 5, 6]
    assert names(workspace / "001") == iteration_files(1, 2, 3, 4, 5, 6)
    assert [parse_yaml(workspace / "001" / f"{i:06d}.yaml")[1]["frame"] for i in range(1, 7)] == [
        str(i * INTERVAL_STEPS) for i in range(1, 7)
    ]

    for policy_idx in (0, 1):
        objectives = [objective_of(workspace / f"{policy_idx:03d}" / f"{i:06d}.yaml") for i in range(1, 7)]
        assert read_policy_progress(workspace, policy_idx) == PolicyProgress(
            policy_idx, 6, objectives[-1], max(objectives)
        )
    cmd = " ".join(policy_args(run_dir, 0)[1:])
    assert find_workspace(cmd, str(tmp_path / "unused")) == workspace


def test_resumed_policy_continues_exactly_where_the_crashed_one_stopped(tmp_path):
    uninterrupted, crashing = tmp_path / "a" / "run", tmp_path / "b" / "run"
    uninterrupted.parent.mkdir()
    crashing.parent.mkdir()
    single = ("pbt.num_policies=1", "pbt.fail_once_policy=0")

    assert run(uninterrupted, 0, "pbt.num_policies=1")[0] == 0
    assert run(crashing, 0, *single)[0] == 3
    assert run(crashing, 0, *single)[0] == 0

    def history(run_dir):
        policy_dir = run_dir / "runs" / "ws_test" / "000"
        yaml_values = [parse_yaml(policy_dir / f"{i:06d}.yaml")[1:] for i in range(1, 7)]
        weights = [json.loads((policy_dir / f"{i:06d}.json").read_text())["weights"] for i in range(1, 7)]
        return [({k: v for k, v in top.items() if k != "checkpoint"}, params) for top, params in yaml_values], weights

    assert history(crashing) == history(uninterrupted)


def test_worse_policy_takes_the_better_ones_weights_and_mutated_params(tmp_path):
    run_dir = tmp_path / "run"
    workspace = run_dir / "runs" / "ws_test"
    run_dir.parent.mkdir(exist_ok=True)
    assert run(run_dir, 1)[0] == 0

    code, stdout, _ = run(run_dir, 0)

    assert code == 0
    lines = stdout.splitlines()
    iteration_3 = next(n for n, line in enumerate(lines) if line.startswith("Policy 0: iteration 3/6 "))
    after_iteration_3 = lines[iteration_3 + 1]
    better = objective_of(workspace / "001" / "000003.yaml")
    own = objective_of(workspace / "000" / "000003.yaml")
    assert after_iteration_3.startswith(
        f"Policy 0: replacing weights with policy 1 (objective {better:.2f} vs own {own:.2f}), new params "
    )
    donor = parse_yaml(workspace / "001" / "000003.yaml")[2]
    mutated = parse_yaml(workspace / "000" / "000004.yaml")[2]
    for name, value in mutated.items():
        ratio = max(value / donor[name], donor[name] / value)
        assert 1.1 <= ratio <= 1.5
    assert objective_of(workspace / "000" / "000004.yaml") > own


def test_garbage_in_another_policys_directory_is_tolerated(tmp_path):
    run_dir = tmp_path / "run"
    peer = run_dir / "runs" / "ws_test" / "001"
    peer.mkdir(parents=True)
    (peer / "000001.yaml").write_text("")
    (peer / "000002.yaml").write_bytes(b"\x00\xff\xfe garbage")
    (peer / "000003.yaml").write_text("iteration: 3\ntrue_objective: 99.0\nframe: 300\nparams:\n  learn")
    (peer / "000004.yaml").write_text("not yaml at all\n")
    (peer / "notes.yaml").write_text("iteration: 4\n")

    code, stdout, stderr = run(run_dir, 0)

    assert (code, stderr) == (0, "")
    assert progress_iterations(stdout, 0) == [1, 2, 3, 4, 5, 6]
    assert "replacing" not in stdout
    assert "among the worst" not in stdout


def test_peer_checkpoint_that_cannot_be_loaded_keeps_own_weights(tmp_path):
    run_dir = tmp_path / "run"
    peer = run_dir / "runs" / "ws_test" / "001"
    peer.mkdir(parents=True)
    for iteration in range(1, 7):
        (peer / f"{iteration:06d}.yaml").write_text(
            f"iteration: {iteration}\ntrue_objective: 99.0\nframe: {iteration * 100}\nparams:\n"
            f"  learning_rate: 0.05\n  noise_scale: 1.0\ncheckpoint: {tmp_path / 'gone.json'}\n"
            "experiment_name: ghost\n"
        )

    code, stdout, _ = run(run_dir, 0)

    assert code == 0
    assert "Policy 0: among the worst, but cannot load policy 1's checkpoint; keeping own weights" in stdout
    assert "replacing weights" not in stdout
    assert progress_iterations(stdout, 0) == [1, 2, 3, 4, 5, 6]
