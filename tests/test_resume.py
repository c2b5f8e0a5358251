"""resubmit-failed continues a PBT policy from its latest own checkpoint; other experiments go out as before."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pbt_tracker.backends.slurm.continuation import (
    continuation_argv,
    continuation_script,
    continuation_script_path,
    is_continuation_script,
)
from pbt_tracker.backends.slurm.script import SlurmResources
from pbt_tracker.cli import cli
from pbt_tracker.pbt.resume import ResumeDecision, is_pbt_command, resume_decision
from tests.conftest import query

CMD = "python train.py task=Ant pbt.policy_idx=2 pbt.workspace=ws hydra.run.dir=runs/p2"


def write_iteration(policy_dir: Path, iteration: int, name: str, objective: float = 1.5,
                    params: dict[str, object] | None = None, checkpoint: bool = True) -> None:
    """As IsaacGymEnvs saves an iteration: the weights first, then the iteration file that names them."""
    policy_dir.mkdir(parents=True, exist_ok=True)
    if checkpoint:
        (policy_dir / f"{iteration:06d}.pth").write_bytes(b"weights")
    document = {"iteration": iteration, "true_objective": objective, "frame": iteration * 1000,
                "experiment_name": name, "params": params or {"train.params.config.lr": 0.001}}
    (policy_dir / f"{iteration:06d}.yaml").write_text(yaml.dump(document))


@pytest.mark.parametrize(("cmd", "expected"), [
    (CMD, True),
    ("python train.py +pbt.policy_idx=0 ++pbt.workspace=/abs/ws", True),
    ("python train.py pbt.policy_idx=2", False),
    ("python train.py pbt.workspace=ws", False),
    ("python train.py 'unbalanced", False),
])
def test_a_pbt_command_names_its_policy_and_its_workspace(cmd: str, expected: bool) -> None:
    assert is_pbt_command(cmd) is expected


def test_an_experiment_that_is_not_pbt_gets_no_decision(tmp_path: Path) -> None:
    assert resume_decision("python train.py lr=1", {}, "t", str(tmp_path)) is None


def test_a_policy_without_a_checkpoint_gets_its_original_command(tmp_path: Path) -> None:
    decision = resume_decision(CMD, {"pbt.policy_idx": 2}, "t", str(tmp_path))
    assert decision == ResumeDecision(2, CMD)
    assert decision.message == "policy 2 has no checkpoint yet: starts from its original command"


def test_a_policy_continues_from_its_live_iteration_with_the_restart_arguments(tmp_path: Path) -> None:
    policy_dir = tmp_path / "runs" / "p2" / "runs" / "ws" / "002"
    for iteration in (1, 2, 3):
        write_iteration(policy_dir, iteration, "Ant_01-10-00")
    decision = resume_decision(CMD, {"pbt.policy_idx": 2}, "t", str(tmp_path))
    checkpoint = policy_dir / "000003.pth"
    assert decision is not None and decision.continues
    assert (decision.iteration, decision.checkpoint) == (3, str(checkpoint))
    assert shlex.split(decision.command) == [
        "python", "train.py", "task=Ant", "pbt.policy_idx=2", "pbt.workspace=ws",
        f"hydra.run.dir={tmp_path}/runs/p2", "++pbt_restart=True", "+full_experiment_name=Ant_01-10-00",
        f"checkpoint={checkpoint}", "train.params.config.lr=0.001",
    ]
    assert decision.message == f"continues policy 2 from iteration 3 (checkpoint {checkpoint})"


def test_from_scratch_sends_the_original_command_even_with_a_checkpoint(tmp_path: Path) -> None:
    write_iteration(tmp_path / "runs" / "p2" / "runs" / "ws" / "002", 4, "Ant_01-10-00")
    decision = resume_decision(CMD, {"pbt.policy_idx": 2}, "t", str(tmp_path), from_scratch=True)
    assert decision == ResumeDecision(2, CMD, from_scratch=True)
    assert decision.message == "policy 2 starts from its original command (--from-scratch)"


def test_the_continuation_script_is_rendered_from_the_template_and_sent_with_its_own_log(tmp_path: Path) -> None:
    path = continuation_script_path(tmp_path, "02_ant", 3)
    assert path == tmp_path / "continuations" / "sbatch_02_ant.3.sh"
    assert is_continuation_script(tmp_path, str(path))
    assert not is_continuation_script(tmp_path, str(tmp_path / "sbatch_02_ant.sh"))
    template = "#!/bin/bash\n#SBATCH -c $CPU\ncd /project\n$CMD\n# $FILENAME\n"
    assert continuation_script(template, "/t.sh", "python a.py x=1", path, SlurmResources(1, 2), "02_ant") == (
        f"#!/bin/bash\n#SBATCH -c 2\ncd /project\npython a.py x=1\n# {path}\n"
    )
    assert continuation_script("#!/bin/bash\n", None, "python a.py", path, SlurmResources(), "02_ant") == (
        "#!/bin/bash\npython a.py\n"
    )
    argv = ["sbatch", "--comment=mine", "-c", "2", "--parsable", "--output", "/w/sbatch_02_ant.sh-slurm-%j.out",
            "/w/sbatch_02_ant.sh"]
    assert continuation_argv(argv, "/w/sbatch_02_ant.sh", path) == [
        "sbatch", "--comment=mine", "-c", "2", "--parsable", "--output",
        f"{tmp_path}/continuations/sbatch_02_ant.3.sh-slurm-%j.out", str(path),
    ]


SBATCH_REFUSES = "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid account' >&2\nexit 1\n"
# Job ids from 4242 on, one each: no two live attempts may hold one id.
SBATCH_ACCEPTS = ("#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$0.calls\"\n"
                  'id=$(cat "$0.next" 2>/dev/null || echo 4242); echo $((id + 1)) > "$0.next"; echo "$id"\n')


@pytest.fixture
def refused_pbt(tmp_path: Path, in_repo: Path, fake_bin) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A two-policy PBT launch that sbatch refused; sbatch is a stand-in, so the test needs no cluster
    (tests/slurm/test_resume_on_slurm.py does the same on the real one)."""
    fake_bin("sbatch", SBATCH_REFUSES)
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--train_dir", str(tmp_path / "t"),
                                      "--pause_between", "0"])
    assert result.exit_code == 1, result.output
    sbatch = fake_bin("sbatch", SBATCH_ACCEPTS)
    return work, sbatch


def test_resubmit_continues_a_pbt_policy_in_a_new_recorded_script(refused_pbt: tuple[Path, Path],
                                                                  tmp_path: Path) -> None:
    work, sbatch = refused_pbt
    db = work / "pbt_tracker.db"
    [(cmd, train_dir)] = query(db, "SELECT cmd, train_dir FROM experiments WHERE name = '01_ws_pbt'")
    run_dir = Path(shlex.split(cmd)[-1].partition("=")[2])
    write_iteration(run_dir / "runs" / "ws" / "001", 7, "ws_pbt_life1", params={"lr": 0.5})
    original = (work / "sbatch_01_ws_pbt.sh").read_text()

    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work), "--no-sync"])

    assert result.exit_code == 0, result.output
    checkpoint = run_dir / "runs" / "ws" / "001" / "000007.pth"
    assert result.output.splitlines()[:2] == [
        "00_ws_pbt: policy 0 has no checkpoint yet: starts from its original command",
        f"01_ws_pbt: continues policy 1 from iteration 7 (checkpoint {checkpoint})",
    ]
    new_script = work / "continuations" / "sbatch_01_ws_pbt.2.sh"
    assert (work / "sbatch_01_ws_pbt.sh").read_text() == original
    text = new_script.read_text()
    assert f"++pbt_restart=True +full_experiment_name=ws_pbt_life1 checkpoint={checkpoint} lr=0.5\n" in text
    rows = query(db, "SELECT e.name, s.attempt, s.origin, s.state, s.job_id, sc.path, sc.text, s.log_path, "
                     "s.parent_submission_id = first.id FROM submissions s JOIN experiments e ON e.id = s.experiment_id "
                     "JOIN scripts sc ON sc.id = s.script_id JOIN submissions first "
                     "ON first.experiment_id = s.experiment_id AND first.attempt = 1 WHERE s.attempt = 2 ORDER BY e.name")
    assert rows == [
        ("00_ws_pbt", 2, "resubmit", "SUBMITTED", "4242", str(work / "sbatch_00_ws_pbt.sh"),
         (work / "sbatch_00_ws_pbt.sh").read_text(), f"{work}/sbatch_00_ws_pbt.sh-slurm-%j.out", 1),
        ("01_ws_pbt", 2, "resubmit", "SUBMITTED", "4243", str(new_script), text,
         f"{work}/continuations/sbatch_01_ws_pbt.2.sh-slurm-%j.out", 1),
    ]
    sent = Path(f"{sbatch}.calls").read_text().splitlines()
    assert sent[-1] == str(new_script)
    assert f"{work}/continuations/sbatch_01_ws_pbt.2.sh-slurm-%j.out" in sent


def test_dry_run_says_what_each_policy_would_run_and_writes_nothing(refused_pbt: tuple[Path, Path]) -> None:
    work, _sbatch = refused_pbt
    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work), "--no-sync", "--dry-run",
                                      "--from-scratch"])
    assert (result.exit_code, result.output.splitlines()) == (0, [
        "Would resubmit 00_ws_pbt as attempt 2: policy 0 starts from its original command (--from-scratch)",
        "Would resubmit 01_ws_pbt as attempt 2: policy 1 starts from its original command (--from-scratch)",
    ])
    assert query(work / "pbt_tracker.db", "SELECT max(attempt) FROM submissions") == [(1,)]
    assert not (work / "continuations").exists()


def test_resubmit_continues_from_the_newest_checkpoint_on_disk_when_the_newest_iteration_lost_its_own(
        refused_pbt: tuple[Path, Path]) -> None:
    work, _sbatch = refused_pbt
    db = work / "pbt_tracker.db"
    [(cmd,)] = query(db, "SELECT cmd FROM experiments WHERE name = '01_ws_pbt'")
    policy_dir = Path(shlex.split(cmd)[-1].partition("=")[2]) / "runs" / "ws" / "001"
    write_iteration(policy_dir, 1, "ws_pbt_life1", params={"lr": 0.5})
    write_iteration(policy_dir, 2, "ws_pbt_life1", params={"lr": 0.5}, checkpoint=False)  # pruned, or a crash mid-save

    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(work), "--no-sync"])

    assert result.exit_code == 0, result.output
    checkpoint = policy_dir / "000001.pth"
    assert result.output.splitlines()[1] == (
        f"01_ws_pbt: continues policy 1 from iteration 1 (checkpoint {checkpoint}); passed over iteration(s) 2, "
        "whose checkpoint file is missing or empty"
    )
    text = (work / "continuations" / "sbatch_01_ws_pbt.2.sh").read_text()
    assert f"checkpoint={checkpoint} lr=0.5\n" in text
    assert "000002.pth" not in text
