"""A PBT decision newer than the policy's newest save is carried by its continuation, or said to be undone."""

from __future__ import annotations

from pathlib import Path

from pbt_tracker.backends.slurm.claim import Claim, claim_lines, tmpdir_lines
from pbt_tracker.examples.toy_pbt_train import State, save
from pbt_tracker.pbt.decisions import DecisionStart, Pending, is_restart_copy, pending_decision, start_params, start_value
from pbt_tracker.pbt.resume import policy_tmpdir, resume_decision

RESTART = (
    "train.py", "task=Ant", "pbt.policy_idx=3", "hydra.run.dir=/r", "++pbt_restart=True",
    "+full_experiment_name=ant_life", "checkpoint=/r/.pbt-track-tmp/ige_u/ant_life_p3/000036.pth",
    "learning_rate=0.0003", "entropy_coef=0.01",
)
DECISION = DecisionStart(3, RESTART, iteration=36, donor=0, key=(7, 1200))


def test_a_starts_parameters_are_what_follows_its_restart_keys() -> None:
    assert start_params(RESTART) == {"learning_rate": "0.0003", "entropy_coef": "0.01"}
    assert start_value(RESTART, "checkpoint") == "/r/.pbt-track-tmp/ige_u/ant_life_p3/000036.pth"
    assert start_value(RESTART, "full_experiment_name") == "ant_life"
    assert start_params(("train.py", "lr=1")) == {}  # no restart: the original command's own values
    assert (DECISION.checkpoint, DECISION.experiment_name) == (start_value(RESTART, "checkpoint"), "ant_life")


def test_the_latest_decision_is_pending_while_the_newest_save_is_the_one_it_followed() -> None:
    assert pending_decision([DECISION], 36, "ant_life", 1024) == Pending(DECISION, True)
    assert pending_decision([DECISION], 37, "ant_life", 1024) is None  # saved since: the workspace holds it
    assert pending_decision([DECISION], 36, "another_life", 1024) is None
    assert pending_decision([DECISION], 36, None, 1024) == Pending(DECISION, True)  # life unknown: taken as its
    assert pending_decision([DecisionStart(3, RESTART)], 36, "ant_life", 1024) is None  # iteration unknown
    assert pending_decision([], 36, "ant_life", 1024) is None
    later = DecisionStart(3, RESTART[:-2] + ("learning_rate=0.0004",), iteration=40, donor=3)
    assert pending_decision([DECISION, later], 36, "ant_life", 10) == Pending(later, True)
    without_checkpoint = DecisionStart(3, ("train.py", "++pbt_restart=True", "lr=1"), iteration=50)
    assert pending_decision([DECISION, without_checkpoint], 36, "ant_life", 10) == Pending(DECISION, True)


def test_a_pending_decision_whose_copy_is_gone_or_empty_is_undone_and_says_why() -> None:
    gone = pending_decision([DECISION], 36, "ant_life", None)
    empty = pending_decision([DECISION], 36, "ant_life", 0)

    assert gone is not None and not gone.carried
    assert gone.message == ("its replacement by policy 0's weights after iteration 36 is undone: its checkpoint copy "
                            "/r/.pbt-track-tmp/ige_u/ant_life_p3/000036.pth is gone")
    assert empty is not None and empty.reason.endswith("000036.pth is empty")
    mutated = DecisionStart(3, RESTART, iteration=36, donor=3)
    assert pending_decision([mutated], 36, None, 5) is not None
    assert Pending(mutated, True).message == (
        "carries its mutation after iteration 36 (checkpoint /r/.pbt-track-tmp/ige_u/ant_life_p3/000036.pth)")


def test_only_a_file_laid_out_as_isaacgymenvs_restart_copy_counts_as_one() -> None:
    assert is_restart_copy("/t/ige_u/ant_life_p3/000036.pth", "ant_life", 3)
    assert not is_restart_copy("/t/ige_u/ant_life_p3/000036.pth", "ant_life", 2)
    assert not is_restart_copy("/ws/003/000036.pth", "ant_life", 3)  # a workspace's own checkpoint
    assert not is_restart_copy("/t/ige_u/ant_life_p3/notes.pth", "ant_life", 3)
    assert not is_restart_copy("/t/ige_u/ant_life_p3/000036.pth", None, 3)


def workspace_with(tmp_path: Path, iteration: int, name: str = "ant_life") -> Path:
    policy_dir = tmp_path / "run" / "runs" / "ws" / "003"
    policy_dir.mkdir(parents=True, exist_ok=True)
    save(policy_dir, State(iteration, iteration * 1000, [0.0] * 4, {"learning_rate": 0.0002}), 1.0, name)
    return policy_dir


def restart_at(copy: Path, iteration: int) -> DecisionStart:
    return DecisionStart(3, ("train.py", "pbt.policy_idx=3", f"hydra.run.dir={copy.parent}", "++pbt_restart=True",
                             "+full_experiment_name=ant_life", f"checkpoint={copy}", "learning_rate=0.0003"),
                         iteration=iteration, donor=0, key=(1, 10))


CMD = "python train.py pbt.policy_idx=3 pbt.workspace=ws hydra.run.dir={run} learning_rate=0.0001"


def test_a_continuation_carries_the_decision_taken_after_the_newest_save(tmp_path: Path) -> None:
    workspace_with(tmp_path, 36)
    copy = tmp_path / "tmp" / "ige_u" / "ant_life_p3" / "000036.pth"
    copy.parent.mkdir(parents=True)
    copy.write_text("{}")
    cmd = CMD.format(run=tmp_path / "run")

    decision = resume_decision(cmd, {}, "t", str(tmp_path), starts=[restart_at(copy, 36)])

    assert decision is not None and decision.pending == Pending(restart_at(copy, 36), True)
    assert decision.command == (f"python train.py pbt.policy_idx=3 pbt.workspace=ws hydra.run.dir={tmp_path / 'run'} "
                                f"++pbt_restart=True +full_experiment_name=ant_life checkpoint={copy} "
                                "learning_rate=0.0003")
    assert (decision.iteration, decision.checkpoint) == (36, str(copy))
    assert decision.message == (f"continues policy 3 from its decision after iteration 36; carries its replacement "
                                f"by policy 0's weights after iteration 36 (checkpoint {copy})")


def test_a_decision_the_workspace_already_holds_is_not_carried_again(tmp_path: Path) -> None:
    policy_dir = workspace_with(tmp_path, 37)
    copy = tmp_path / "gone.pth"

    decision = resume_decision(CMD.format(run=tmp_path / "run"), {}, "t", str(tmp_path),
                               starts=[restart_at(copy, 36)])

    assert decision is not None and decision.pending is None
    assert decision.message == f"continues policy 3 from iteration 37 (checkpoint {policy_dir / '000037.pth'})"


def test_a_decision_whose_copy_is_gone_is_undone_and_the_continuation_says_so(tmp_path: Path) -> None:
    policy_dir = workspace_with(tmp_path, 36)
    copy = tmp_path / "elsewhere" / "000036.pth"

    decision = resume_decision(CMD.format(run=tmp_path / "run"), {}, "t", str(tmp_path),
                               starts=[restart_at(copy, 36)])

    assert decision is not None and decision.pending is not None and not decision.pending.carried
    assert f"checkpoint={policy_dir / '000036.pth'}" in decision.command and "learning_rate=0.0002" in decision.command
    assert decision.message == (
        f"continues policy 3 from iteration 36 (checkpoint {policy_dir / '000036.pth'}); its replacement by policy "
        f"0's weights after iteration 36 is undone: its checkpoint copy {copy} is gone")


def test_a_pbt_jobs_tmpdir_is_in_its_run_dir_and_exported_before_the_guard(tmp_path: Path) -> None:
    cmd = CMD.format(run="rel/run")
    assert policy_tmpdir(cmd, "t", "/launch") == "/launch/rel/run/.pbt-track-tmp"
    assert policy_tmpdir("python train.py lr=1", "t", "/launch") is None
    assert tmpdir_lines(None) == []
    assert tmpdir_lines("/a b/.pbt-track-tmp") == [
        "# pbt-track: temporary files (IsaacGymEnvs' restart checkpoints) where any node's continuation finds them",
        "if mkdir -p '/a b/.pbt-track-tmp'; then export TMPDIR='/a b/.pbt-track-tmp'; else echo 'pbt-track: TMPDIR "
        "stays node-local; a continuation elsewhere cannot carry a PBT restart' >&2; fi",
    ]
    claim = Claim("/c/x.lock", "/py", "/w", "uuid", "00_x", "/w/s.sh", "/a b/.pbt-track-tmp")
    lines = claim_lines(claim, ["/bin/bash"])
    assert lines[:2] == tmpdir_lines("/a b/.pbt-track-tmp")
    assert lines[2:] == claim_lines(Claim("/c/x.lock", "/py", "/w", "uuid", "00_x", "/w/s.sh"), ["/bin/bash"])
