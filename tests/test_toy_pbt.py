"""The demo run: a real, tiny PBT population writing IsaacGymEnvs' workspace layout."""

import getpass
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pbt_tracker.examples.toy_pbt import RUN_DESCRIPTION
from pbt_tracker.examples.toy_pbt_population import thinning_victim
from pbt_tracker.examples.toy_pbt_settings import parse_settings
from pbt_tracker.pbt.lineage import read_lineage
from pbt_tracker.pbt.resume import continuation_command, latest_own_entry
from pbt_tracker.pbt.workspace import PolicyProgress, find_workspace, read_best_copies, read_policy_progress

TOP_LEVEL_KEYS = ["checkpoint", "experiment_name", "frame", "iteration", "params", "pbt_checkpoint", "true_objective"]
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
    """Its temporary files (a restart's checkpoint copy) go to ``<run_dir>/../tmp``, as a job's TMPDIR sends them."""
    tmp = run_dir.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    return subprocess.Popen(policy_args(run_dir, policy_idx, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=run_dir.parent, env={**os.environ, "TMPDIR": str(tmp)})


def finish(process):
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return process.returncode, stdout, stderr


def run(run_dir, policy_idx, *extra):
    return finish(start(run_dir, policy_idx, *extra))


def parse_yaml(path):
    text = path.read_text()
    return yaml.safe_load(text), [line.partition(":")[0] for line in text.splitlines() if not line.startswith(" ")]


def objective_of(path):
    return parse_yaml(path)[0]["true_objective"]


def names(policy_dir):
    return sorted(path.name for path in policy_dir.iterdir())


def iteration_files(*iterations):
    return sorted([f"{i:06d}.yaml" for i in iterations] + [f"{i:06d}.pth" for i in iterations])


def continue_policy(run_dir, policy_idx, *extra):
    """Runs the continuation pbt-track builds from the policy's command and its latest iteration file."""
    command = " ".join(shlex.quote(arg) for arg in policy_args(run_dir, policy_idx, *extra))
    entry = latest_own_entry(run_dir / "runs" / "ws_test", policy_idx)
    process = subprocess.Popen(shlex.split(continuation_command(command, entry, run_dir).command),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=run_dir.parent)
    return finish(process)


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


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_two_policies_in_parallel_write_isaacgymenvs_iteration_files_and_one_crashes_once(tmp_path):
    run_dir = tmp_path / "run"
    workspace = run_dir / "runs" / "ws_test"
    policy_0 = start(run_dir, 0, "pbt.fail_once_policy=1")
    policy_1 = start(run_dir, 1, "pbt.fail_once_policy=1")
    code_0, stdout_0, _ = finish(policy_0)
    code_1, stdout_1, stderr_1 = finish(policy_1)

    assert code_0 == 0
    assert stdout_0.splitlines()[0] == ("Policy 0: started without ++pbt_restart=True, so this is the start of the "
                                        "experiment: mutating the initial hyperparameters")
    assert progress_iterations(stdout_0, 0) == [1, 2, 3, 4, 5, 6]
    assert names(workspace / "000") == iteration_files(1, 2, 3, 4, 5, 6)
    for iteration in range(1, 7):
        path = workspace / "000" / f"{iteration:06d}.yaml"
        document, keys = parse_yaml(path)
        assert keys == TOP_LEVEL_KEYS
        assert (document["iteration"], document["frame"]) == (iteration, iteration * INTERVAL_STEPS)
        assert isinstance(document["true_objective"], float)
        assert sorted(document["params"]) == ["toy.learning_rate", "toy.noise_scale"]
        assert all(value > 0 for value in document["params"].values())
        assert document["checkpoint"] == str(workspace / "000" / f"{iteration:06d}.pth")
        assert document["pbt_checkpoint"] == str(path)
        assert json.loads((workspace / "000" / f"{iteration:06d}.pth").read_text())["frame"] == iteration * 100
        assert document["experiment_name"].startswith("00_toy_")

    assert code_1 == 3
    assert "Policy 1: simulated crash during iteration 3" in stderr_1
    assert progress_iterations(stdout_1, 1) == [1, 2]
    assert names(workspace / "001") == iteration_files(1, 2)
    assert (run_dir / "fail_once_policy_1").is_file()

    code_again, stdout_again, _ = continue_policy(run_dir, 1, "pbt.fail_once_policy=1")

    assert code_again == 0
    assert stdout_again.splitlines()[0].startswith(
        f"Policy 1: PBT init. Env frames: 200, pbt_iteration: 2, checkpoint {workspace / '001' / '000002.pth'}, "
    )
    assert progress_iterations(stdout_again, 1) == [3, 4, 5, 6]
    assert names(workspace / "001") == iteration_files(1, 2, 3, 4, 5, 6)
    assert len({parse_yaml(workspace / "001" / f"{i:06d}.yaml")[0]["experiment_name"] for i in range(1, 7)}) == 1

    for policy_idx in (0, 1):
        objectives = [objective_of(workspace / f"{policy_idx:03d}" / f"{i:06d}.yaml") for i in range(1, 7)]
        copies = [entry.true_objective for entry in read_best_copies(workspace) if entry.policy_idx == policy_idx]
        assert read_policy_progress(workspace, policy_idx) == PolicyProgress(
            policy_idx, 6, objectives[-1], max(objectives + copies)
        )
    cmd = " ".join(policy_args(run_dir, 0)[1:])
    assert find_workspace(cmd, str(tmp_path / "unused")) == workspace


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_run_again_without_the_continuation_a_policy_starts_over_under_a_new_name(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.parent.mkdir(exist_ok=True)
    first_file = run_dir / "runs" / "ws_test" / "000" / "000001.yaml"
    assert run(run_dir, 0, "pbt.num_policies=1", "pbt.fail_once_policy=0")[0] == 3
    first_life = parse_yaml(first_file)[0]["experiment_name"]

    code, stdout, _ = run(run_dir, 0, "pbt.num_policies=1", "pbt.fail_once_policy=0")

    assert code == 0
    assert "Policy 0: PBT init. Env frames: 0, pbt_iteration: 0, checkpoint None, " in stdout
    assert progress_iterations(stdout, 0) == [1, 2, 3, 4, 5, 6]
    assert parse_yaml(first_file)[0]["experiment_name"] != first_life


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_continued_policy_goes_on_exactly_where_the_crashed_one_stopped(tmp_path):
    uninterrupted, crashing = tmp_path / "a" / "run", tmp_path / "b" / "run"
    uninterrupted.parent.mkdir()
    crashing.parent.mkdir()
    single = ("pbt.num_policies=1", "pbt.fail_once_policy=0")

    assert run(uninterrupted, 0, "pbt.num_policies=1")[0] == 0
    assert run(crashing, 0, *single)[0] == 3
    assert continue_policy(crashing, 0, *single)[0] == 0

    def history(run_dir):
        policy_dir = run_dir / "runs" / "ws_test" / "000"
        documents = [parse_yaml(policy_dir / f"{i:06d}.yaml")[0] for i in range(1, 7)]
        weights = [json.loads((policy_dir / f"{i:06d}.pth").read_text())["weights"] for i in range(1, 7)]
        kept = ("iteration", "frame", "true_objective", "params")
        return [{key: document[key] for key in kept} for document in documents], weights

    assert history(crashing) == history(uninterrupted)


def test_the_journal_has_a_line_per_start_and_per_iteration_done_with_the_process_that_wrote_it(tmp_path):
    run_dir, journal = tmp_path / "run", tmp_path / "journal"
    run_dir.parent.mkdir(exist_ok=True)
    single = ("pbt.num_policies=1", "pbt.fail_once_policy=0", f"toy.journal={journal}")

    assert run(run_dir, 0, *single)[0] == 3
    assert continue_policy(run_dir, 0, *single)[0] == 0

    lines = [line.split() for line in journal.read_text().splitlines()]
    assert [fields[2:] for fields in lines] == [
        ["0", "start", "0"], ["0", "iteration", "1"], ["0", "iteration", "2"],
        ["0", "start", "2"], *[["0", "iteration", str(i)] for i in range(3, 7)],
    ]
    first_life, continuation = {fields[1] for fields in lines[:3]}, {fields[1] for fields in lines[3:]}
    assert len(first_life) == len(continuation) == 1 and first_life != continuation
    times = [float(fields[0]) for fields in lines]
    assert times == sorted(times)


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_worse_policy_restarts_itself_from_the_better_ones_checkpoint_as_isaacgymenvs_does(tmp_path):
    run_dir = tmp_path / "run"
    workspace = run_dir / "runs" / "ws_test"
    run_dir.parent.mkdir(exist_ok=True)
    assert run(run_dir, 1)[0] == 0

    code, stdout, _ = run(run_dir, 0)

    assert code == 0
    lines = stdout.splitlines()
    at = lines.index("Replacing underperforming policy 0 with 1")
    name = parse_yaml(workspace / "000" / "000002.yaml")[0]["experiment_name"]
    restart_checkpoint = tmp_path / "tmp" / f"ige_{getpass.getuser()}" / f"{name}_p0" / "000002.pth"
    assert lines[at - 2: at] == [
        "Policy 0: PBT best_policies=[1], worst_policies=[0]",
        "Current policy 0 is among the worst_policies=[0], consider replacing weights",
    ]
    assert lines[at + 2] == (f"Policy 0: Preparing to restart the process with mutated parameters! "
                             f"Checkpoint {restart_checkpoint}")
    restart = re.fullmatch(r"Policy 0: Restarting self with args (.*)", lines[at + 3])
    assert restart is not None and "++pbt_restart=True" in restart.group(1)
    assert f"'checkpoint={restart_checkpoint}'" in restart.group(1)
    assert lines[at + 4].startswith(f"Policy 0: PBT init. Env frames: 200, pbt_iteration: 2, checkpoint {restart_checkpoint}")
    events = read_lineage(stdout.encode()).events
    assert [(event.policy_idx, event.donor_idx, event.iteration, event.checkpoint) for event in events][0] == (
        0, 1, 2, str(restart_checkpoint))
    donor = parse_yaml(workspace / "001" / "000002.yaml")[0]["params"]
    mutated = parse_yaml(workspace / "000" / "000003.yaml")[0]["params"]
    # Each restart empties the policy's copy folder first, as IsaacGymEnvs does: the latest copy is the one left,
    # and it holds its donor's weights.
    latest = Path(events[-1].checkpoint)
    assert list(latest.parent.iterdir()) == [latest] and latest.parent == restart_checkpoint.parent
    assert json.loads(latest.read_text())["weights"] == json.loads(
        (workspace / f"{events[-1].donor_idx:03d}" / latest.name).read_text())["weights"]
    own = parse_yaml(workspace / "000" / "000002.yaml")[0]
    for name, value in mutated.items():
        ratios = [max(value / source[name], source[name] / value) for source in (donor, own["params"])]
        assert any(1.1 <= ratio <= 1.5 for ratio in ratios)
    assert objective_of(workspace / "000" / "000003.yaml") > own["true_objective"]
    assert len({parse_yaml(workspace / "000" / f"{i:06d}.yaml")[0]["experiment_name"] for i in range(1, 7)}) == 1


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
    assert "Replacing" not in stdout
    assert "among the worst" not in stdout


def test_peer_checkpoint_that_cannot_be_loaded_keeps_own_weights(tmp_path):
    run_dir = tmp_path / "run"
    peer = run_dir / "runs" / "ws_test" / "001"
    peer.mkdir(parents=True)
    for iteration in range(1, 7):
        (peer / f"{iteration:06d}.yaml").write_text(yaml.dump({
            "iteration": iteration, "true_objective": 99.0, "frame": iteration * 100,
            "params": {"toy.learning_rate": 0.05, "toy.noise_scale": 1.0},
            "checkpoint": str(peer / f"{iteration:06d}.pth"), "experiment_name": "ghost",
        }))

    code, stdout, _ = run(run_dir, 0)

    assert code == 0
    assert f"Policy 0: cannot load {peer / '000002.pth'} for the restart (" in stdout
    assert "Preparing to restart" not in stdout
    assert progress_iterations(stdout, 0) == [1, 2, 3, 4, 5, 6]


def test_old_iteration_files_are_cleaned_up_as_isaacgymenvs_does(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.parent.mkdir(exist_ok=True)

    code, stdout, _ = run(run_dir, 0, "pbt.num_policies=1", "toy.cleanup_behind=2")

    assert code == 0
    assert names(run_dir / "runs" / "ws_test" / "000") == iteration_files(5, 6)
    assert "Policy 0: PBT cleanup: removing checkpoint 000004.pth" in stdout.splitlines()
    assert [entry.policy_idx for entry in read_best_copies(run_dir / "runs" / "ws_test")] == [0, 0, 0]


def test_thinning_removes_the_old_iteration_that_leaves_the_smallest_gap_and_spares_the_latest():
    assert thinning_victim([1, 2, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]) == 2
    assert thinning_victim([1, 5, 6, 8, 20], keep_latest=1) == 6
    assert thinning_victim(list(range(1, 13))) is None
