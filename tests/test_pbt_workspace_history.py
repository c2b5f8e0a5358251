"""What a history copier and the report read from a PBT workspace: whole entries, lives, best copies, new files only."""

import os

import yaml

from pbt_tracker.pbt.iteration_file import IterationRecord, parse_iteration_file
from pbt_tracker.pbt.workspace import (
    PolicyProgress,
    live_entry,
    new_entries,
    read_best_copies,
    read_policy_entries,
    read_policy_progress,
)


def dump(workspace, policy_idx, iteration, objective, experiment="ant_24-10-00-00", params=None):
    """The file as IsaacGymEnvs' ``_save_pbt_checkpoint`` writes it."""
    policy_dir = workspace / f"{policy_idx:03d}"
    return yaml.dump({
        "iteration": iteration,
        "true_objective": objective,
        "frame": iteration * 1000,
        "params": params if params is not None else {"train.params.config.learning_rate": 0.0003},
        "checkpoint": str(policy_dir / f"{iteration:06d}.pth"),
        "pbt_checkpoint": str(policy_dir / f"{iteration:06d}.yaml"),
        "experiment_name": experiment,
    })


def write(workspace, policy_idx, iteration, objective, mtime=None, **kwargs):
    path = workspace / f"{policy_idx:03d}" / f"{iteration:06d}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(workspace, policy_idx, iteration, objective, **kwargs))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_best(workspace, kept_by, source_policy, iteration, objective):
    """A ``best<idx>`` copy, named as IsaacGymEnvs' ``_maybe_save_best_policy`` names it."""
    best_dir = workspace / f"best{kept_by}"
    best_dir.mkdir(parents=True, exist_ok=True)
    name = f"Ant_best_obj_{objective:015.5f}_iter_{iteration:04d}_policy{source_policy:03d}_frame{iteration * 1000}"
    (best_dir / f"{name}.yaml").write_text(dump(workspace, source_policy, iteration, objective))
    return f"best{kept_by}/{name}.yaml"


# --- one file ------------------------------------------------------------------------


def test_every_key_isaacgymenvs_writes_is_read():
    text = (
        "checkpoint: /w/002/000007.pth\n"
        "experiment_name: ant_24-10-00-00\n"
        "frame: 7168000\n"
        "iteration: 7\n"
        "params:\n"
        "  task.env.actionScale: 1.2\n"
        "  train.params.config.learning_rate: 1.0e-05\n"
        "  train.params.config.mini_epochs: 4\n"
        "pbt_checkpoint: /w/002/000007.yaml\n"
        "true_objective: -12.5\n"
    )

    assert parse_iteration_file(text.encode()) == IterationRecord(
        iteration=7, true_objective=-12.5, frame=7168000,
        params={"task.env.actionScale": 1.2, "train.params.config.learning_rate": 1e-05,
                "train.params.config.mini_epochs": 4},
        checkpoint="/w/002/000007.pth", pbt_checkpoint="/w/002/000007.yaml", experiment_name="ant_24-10-00-00",
    )


def test_a_file_cut_anywhere_while_being_written_is_not_read(tmp_path):
    data = dump(tmp_path, 2, 7, 1234.5).encode()

    assert [length for length in range(len(data) + 1) if parse_iteration_file(data[:length]) is not None] == [len(data)]


# --- a policy's entries -----------------------------------------------------------------


def test_entries_carry_the_whole_file_and_a_key_per_version(tmp_path):
    path = write(tmp_path, 2, 3, 50.0, mtime=1_700_000_000)
    write(tmp_path, 2, 1, 10.0, mtime=1_699_999_000)
    (tmp_path / "002" / "000004.yaml").write_text("iteration: 4\ntrue_objective: 9")

    entries = read_policy_entries(tmp_path, 2)

    assert [(entry.policy_idx, entry.name, entry.iteration, entry.kept_by) for entry in entries] == [
        (2, "002/000001.yaml", 1, None), (2, "002/000003.yaml", 3, None)
    ]
    assert entries[1].key == "002/000003.yaml@1700000000000000000"
    assert entries[1].path == path
    assert entries[1].record == IterationRecord(
        3, 50.0, 3000, {"train.params.config.learning_rate": 0.0003}, str(tmp_path / "002" / "000003.pth"),
        str(path), "ant_24-10-00-00",
    )


def test_stale_higher_iterations_of_an_earlier_life_are_not_the_live_one(tmp_path):
    for iteration in range(1, 6):
        write(tmp_path, 0, iteration, 10.0 * iteration, experiment="ant_24-10-00-00", mtime=1000 + iteration)
    write(tmp_path, 0, 1, 3.0, experiment="ant_24-11-30-00", mtime=2001)
    write(tmp_path, 0, 2, 4.0, experiment="ant_24-11-30-00", mtime=2002)

    live = live_entry(read_policy_entries(tmp_path, 0))

    assert (live.iteration, live.true_objective, live.record.experiment_name) == (2, 4.0, "ant_24-11-30-00")
    assert read_policy_progress(tmp_path, 0) == PolicyProgress(0, 2, 4.0, 50.0)
    assert live_entry(read_policy_entries(tmp_path, 0), "ant_24-10-00-00").iteration == 5


def test_a_continued_life_keeps_its_whole_history(tmp_path):
    for iteration in range(1, 4):
        write(tmp_path, 0, iteration, float(iteration), mtime=1000 + iteration)
    write(tmp_path, 0, 2, 2.5, mtime=3000)

    assert live_entry(read_policy_entries(tmp_path, 0)).iteration == 3


def test_no_entries_no_live_one(tmp_path):
    assert live_entry([]) is None
    assert live_entry(read_policy_entries(tmp_path, 0)) is None


# --- best copies ----------------------------------------------------------------------


def test_best_copies_belong_to_the_policy_they_were_copied_from(tmp_path):
    write(tmp_path, 1, 12, 40.0)
    kept = write_best(tmp_path, 3, 1, 9, 77.5)
    write_best(tmp_path, 0, 2, 5, 60.0)
    (tmp_path / "best3" / "Ant_best_obj_half.yaml").write_text("iteration: 4\ntrue_")

    copies = read_best_copies(tmp_path)

    assert [(entry.policy_idx, entry.kept_by, entry.iteration, entry.true_objective) for entry in copies] == [
        (1, 3, 9, 77.5), (2, 0, 5, 60.0)
    ]
    assert copies[0].name == kept
    assert read_policy_progress(tmp_path, 1) == PolicyProgress(1, 12, 40.0, 77.5)
    assert read_policy_progress(tmp_path, 2) == PolicyProgress(2, None, None, None)


def test_best_copy_without_a_policy_in_its_name_belongs_to_the_directory_its_pbt_checkpoint_names(tmp_path):
    (tmp_path / "best0").mkdir()
    (tmp_path / "best0" / "renamed.yaml").write_text(dump(tmp_path, 5, 2, 8.0))
    (tmp_path / "best0" / "orphan.yaml").write_text("iteration: 2\ntrue_objective: 9.0\n")

    assert [(entry.policy_idx, entry.kept_by) for entry in read_best_copies(tmp_path)] == [(5, 0)]


# --- incremental copying ----------------------------------------------------------------


def test_new_entries_are_those_not_copied_yet_and_a_rewritten_file_is_new_again(tmp_path):
    write(tmp_path, 0, 1, 1.0, mtime=1001)
    write(tmp_path, 1, 1, 2.0, mtime=1002)
    best = write_best(tmp_path, 1, 0, 1, 1.0)
    (tmp_path / "001" / "000002.yaml").write_text("iteration: 2\ntrue_objective: 3")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "000001.yaml").write_text(dump(tmp_path, 9, 1, 1.0))

    first = new_entries(tmp_path, set())
    copied = {entry.key for entry in first}

    assert [entry.name for entry in first] == ["000/000001.yaml", "001/000001.yaml", best]
    assert new_entries(tmp_path, copied) == []

    write(tmp_path, 1, 2, 3.0, mtime=1003)
    write(tmp_path, 0, 1, 0.5, experiment="ant_24-11-30-00", mtime=1004)

    again = new_entries(tmp_path, copied)

    assert [(entry.name, entry.true_objective) for entry in again] == [("000/000001.yaml", 0.5), ("001/000002.yaml", 3.0)]


def test_missing_workspace_has_no_entries(tmp_path):
    assert new_entries(tmp_path / "gone", set()) == []
    assert read_best_copies(tmp_path / "gone") == []
