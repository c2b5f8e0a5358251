"""The lines every job script gets after its #SBATCH block: pinned on literal text, and run under bash and sh
with hostile paths, where each value must arrive as one word and nothing in it may run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.claim import Claim, check_shell, claim_file, claim_lines, with_claim
from pbt_tracker.backends.slurm.script import SBATCH_TEMPLATE_DEFAULT, SlurmResources, render_script
from pbt_tracker.errors import TemplateError
from pbt_tracker.templates import TEMPLATES, template_text
from tests.conftest import PYTHON, write_program

CLAIM = Claim("/t/ant/ant_/.pbt-track/00_ant.lock", "/venv/bin/python3", "/w", "5f2c09ab", "00_ant",
              "/w/sbatch_00_ant.sh")


def expected_claim(lock: str, workdir: str, launch: str, experiment: str, script: str, python: str = PYTHON,
                   shell: str = "/bin/bash") -> str:
    """The claim lines for values that need no quoting, as every golden script test expects them."""
    return (
        "# pbt-track: claim this experiment, then ask its record how this start runs (README: Guarantees)\n"
        f"true >>{lock} && exec 8>>{lock} || {{ echo 'pbt-track: the claim file cannot be opened, so this job "
        "does not run its experiment' >&2; exit 1; }\n"
        f"pbt_track_start=$({python} -m pbt_tracker guard --workdir {workdir} --launch {launch} "
        f"--experiment {experiment} --script {script}) || exit\n"
        f'case $pbt_track_start in stop) exit 0 ;; ?*) unset SLURM_RESTART_COUNT; exec {shell} "$pbt_track_start" ;; '
        "esac\n"
    )


def test_the_lines_open_the_claim_file_on_descriptor_8_ask_the_guard_and_act_on_its_answer() -> None:
    assert claim_lines(CLAIM, ["/bin/bash"]) == [
        "# pbt-track: claim this experiment, then ask its record how this start runs (README: Guarantees)",
        "true >>/t/ant/ant_/.pbt-track/00_ant.lock && exec 8>>/t/ant/ant_/.pbt-track/00_ant.lock || "
        "{ echo 'pbt-track: the claim file cannot be opened, so this job does not run its experiment' >&2; exit 1; }",
        "pbt_track_start=$(/venv/bin/python3 -m pbt_tracker guard --workdir /w --launch 5f2c09ab "
        "--experiment 00_ant --script /w/sbatch_00_ant.sh) || exit",
        'case $pbt_track_start in stop) exit 0 ;; ?*) unset SLURM_RESTART_COUNT; exec /bin/bash "$pbt_track_start" ;; '
        "esac",
    ]
    assert "".join(f"{line}\n" for line in claim_lines(CLAIM, ["/bin/bash"])) == expected_claim(
        CLAIM.claim_file, "/w", "5f2c09ab", "00_ant", "/w/sbatch_00_ant.sh", python="/venv/bin/python3")


HOSTILE_DIR = "/t/it's my $(touch pwned) `touch pwned2`; run &"


def test_every_value_is_quoted_as_one_inert_word() -> None:
    claim = Claim(f"{HOSTILE_DIR}/.pbt-track/00_a.lock", "/opt/my env/bin/python3", "/w/a \"b\"", "0a1b", "00_a",
                  "/w/a \"b\"/sbatch_00_a.sh")

    lines = claim_lines(claim, ["/bin/bash", "-l"])

    quoted_lock = "'/t/it'\"'\"'s my $(touch pwned) `touch pwned2`; run &/.pbt-track/00_a.lock'"
    assert lines[1:] == [
        f"true >>{quoted_lock} && exec 8>>{quoted_lock} || "
        "{ echo 'pbt-track: the claim file cannot be opened, so this job does not run its experiment' >&2; exit 1; }",
        "pbt_track_start=$('/opt/my env/bin/python3' -m pbt_tracker guard --workdir '/w/a \"b\"' --launch 0a1b "
        "--experiment 00_a --script '/w/a \"b\"/sbatch_00_a.sh') || exit",
        'case $pbt_track_start in stop) exit 0 ;; ?*) unset SLURM_RESTART_COUNT; exec /bin/bash -l "$pbt_track_start" '
        ";; esac",
    ]


@pytest.mark.parametrize("what, claim", [
    ("claim file", Claim("/t/a\nb/.pbt-track/00_a.lock", "/p", "/w", "u", "00_a", "/w/s.sh")),
    ("workdir", Claim("/t/.pbt-track/00_a.lock", "/p", "/w\r", "u", "00_a", "/w/s.sh")),
    ("interpreter", Claim("/t/.pbt-track/00_a.lock", "/p\0", "/w", "u", "00_a", "/w/s.sh")),
])
def test_a_value_with_a_line_break_or_a_nul_is_refused(what: str, claim: Claim) -> None:
    with pytest.raises(TemplateError) as caught:
        claim_lines(claim, ["/bin/sh"])
    value = {"claim file": claim.claim_file, "workdir": claim.workdir, "interpreter": claim.python}[what]
    assert str(caught.value) == (f"the {what} {value!r} holds a line break or a NUL, which a job script's claim "
                                 "lines cannot carry; choose a path without one")


def test_the_claim_file_lives_in_the_experiments_train_dir_taken_from_the_launch_directory() -> None:
    assert claim_file("train/ant/ant_", "/home/me/project", "00_ant") == (
        "/home/me/project/train/ant/ant_/.pbt-track/00_ant.lock")
    assert claim_file("/abs/ant_", "/home/me/project", "00_ant") == "/abs/ant_/.pbt-track/00_ant.lock"


# --- where the lines go -------------------------------------------------------------------------


def lines_of(claim: Claim, shell: str = "/bin/bash") -> str:
    return "".join(f"{line}\n" for line in claim_lines(claim, [shell]))


def test_the_lines_follow_the_sbatch_block_and_every_line_of_the_script_stays_in_order() -> None:
    script = ("#!/bin/bash\n#SBATCH --time=5\n# a comment between\n#SBATCH -c 2\n# the template's notes\n\n"
              "source activate env\npython train.py\n")

    assert with_claim(script, CLAIM) == (
        "#!/bin/bash\n#SBATCH --time=5\n# a comment between\n#SBATCH -c 2\n" + lines_of(CLAIM)
        + "# the template's notes\n\nsource activate env\npython train.py\n"
    )


def test_without_sbatch_lines_they_follow_the_interpreter_line_and_exec_under_it() -> None:
    assert with_claim("#!/bin/sh\necho hi\n", CLAIM) == "#!/bin/sh\n" + lines_of(CLAIM, "/bin/sh") + "echo hi\n"
    assert with_claim("#!/bin/bash", CLAIM) == "#!/bin/bash\n" + lines_of(CLAIM)


def test_sbatch_lines_after_the_first_command_are_not_read_by_sbatch_and_stay_below() -> None:
    script = "#!/bin/bash\n#SBATCH -c 1\nhostname\n#SBATCH --time=9\n$CMD\n"
    assert with_claim(script, CLAIM) == (
        "#!/bin/bash\n#SBATCH -c 1\n" + lines_of(CLAIM) + "hostname\n#SBATCH --time=9\n$CMD\n")


@pytest.mark.parametrize("first_line", ["#!/bin/bash", "#!/bin/sh", "#!/bin/bash -l", "#!/usr/bin/env bash",
                                        "#!/usr/bin/env -S zsh -f", "#!/usr/local/bin/dash"])
def test_a_bourne_shell_template_is_accepted(first_line: str) -> None:
    check_shell(f"{first_line}\n$CMD\n", "t.sh")


@pytest.mark.parametrize("first_line, named", [("#!/bin/csh", "/bin/csh"),
                                                ("#!/usr/bin/env python3", "/usr/bin/env python3")])
def test_a_template_under_another_interpreter_is_refused_in_one_line(first_line: str, named: str) -> None:
    with pytest.raises(TemplateError) as caught:
        check_shell(f"{first_line}\n$CMD\n", "my.sh")
    assert str(caught.value) == (
        f"template my.sh runs under {named} (its #! line); the lines pbt-track adds to claim an experiment need "
        "a Bourne shell: sh, bash, dash, ksh or zsh"
    )


# --- the lines run: bash and sh take each value as one word and run nothing in it -----------------


def run_lines(tmp_path: Path, shell: str, answer: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The lines of a claim whose every path is hostile, before `echo the command ran`; the guard is a stand-in
    at a hostile path that writes down its arguments and answers `answer`."""
    root = tmp_path / "it's a $(touch pwned) `touch pwned2`; dir &"
    lock = root / ".pbt-track" / "00_a.lock"
    lock.parent.mkdir(parents=True)
    arguments = tmp_path / "arguments"
    stand_in = write_program(root / "bin dir", "python 'x'", f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{arguments}'\n"
                                                            f"printf '%s' '{answer}'\n")
    claim = Claim(str(lock), str(stand_in), str(root / "w $(x)"), "0a1b", "00_a", str(root / "w $(x)" / "s.sh"))
    script = tmp_path / "job.sh"
    script.write_text(with_claim(f"#!{shell}\necho the command ran\n", claim))
    done = subprocess.run([shell, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    return done, arguments, lock


@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_each_value_reaches_the_guard_as_one_word_and_nothing_in_them_runs(tmp_path: Path, shell: str) -> None:
    done, arguments, lock = run_lines(tmp_path, shell, "")

    assert (done.returncode, done.stdout, done.stderr) == (0, "the command ran\n", "")
    root = lock.parent.parent
    assert arguments.read_text().splitlines() == [
        "-m", "pbt_tracker", "guard", "--workdir", f"{root}/w $(x)", "--launch", "0a1b", "--experiment", "00_a",
        "--script", f"{root}/w $(x)/s.sh",
    ]
    assert lock.exists()
    assert not any(path.name.startswith("pwned") for path in tmp_path.rglob("*"))


def test_stop_ends_the_job_with_exit_0_before_its_command(tmp_path: Path) -> None:
    done, _arguments, _lock = run_lines(tmp_path, "/bin/bash", "stop")
    assert (done.returncode, done.stdout) == (0, "")


def test_a_path_is_execd_under_the_scripts_own_shell_without_slurm_restart_count(tmp_path: Path) -> None:
    continuation = tmp_path / "continuation it's.sh"
    continuation.write_text('echo "continued as $0 in ${SLURM_RESTART_COUNT-no requeue}"\n')
    done, _arguments, _lock = run_lines(tmp_path, "/bin/bash", str(continuation).replace("'", "'\"'\"'"))
    assert (done.returncode, done.stdout) == (0, f"continued as {continuation} in no requeue\n")


def test_a_claim_file_that_cannot_be_opened_ends_the_job_with_exit_1_saying_why(tmp_path: Path) -> None:
    claim = Claim(str(tmp_path / "gone" / ".pbt-track" / "00_a.lock"), "/nonexistent/python", str(tmp_path), "u",
                  "00_a", str(tmp_path / "s.sh"))
    script = tmp_path / "job.sh"
    script.write_text(with_claim("#!/bin/bash\necho the command ran\n", claim))

    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "LC_ALL": "C"})

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"{script}: line 3: {claim.claim_file}: No such file or directory",
        "pbt-track: the claim file cannot be opened, so this job does not run its experiment",
    ]


def test_a_guard_that_fails_ends_the_job_with_its_exit_code(tmp_path: Path) -> None:
    failing = write_program(tmp_path, "python", "#!/bin/sh\necho 'Error: no record here' >&2\nexit 1\n")
    lock = tmp_path / ".pbt-track" / "00_a.lock"
    claim = Claim(str(lock), str(failing), str(tmp_path), "u", "00_a", str(tmp_path / "s.sh"))
    script = tmp_path / "job.sh"
    script.write_text(with_claim("#!/bin/bash\necho the command ran\n", claim))
    lock.parent.mkdir()

    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)

    assert (done.returncode, done.stdout, done.stderr) == (1, "", "Error: no record here\n")


@pytest.mark.parametrize("name", [*sorted(TEMPLATES), "built-in"])
def test_every_shipped_template_keeps_each_of_its_lines_in_order_with_the_claim_lines_after_its_directives(
    name: str,
) -> None:
    text = SBATCH_TEMPLATE_DEFAULT if name == "built-in" else template_text(name)
    rendered = render_script(text, cmd="python -m isaacgymenvs.train task=Ant pbt.policy_idx=0", filename="/w/s.sh",
                             resources=SlurmResources(timeout="60"), append_cmd=name == "built-in")

    lines = with_claim(rendered, CLAIM).splitlines()

    added = claim_lines(CLAIM, ["/bin/bash"])
    at = lines.index(added[0])
    assert lines[at:at + len(added)] == added
    assert lines[:at] + lines[at + len(added):] == rendered.splitlines()
    assert all(line.startswith("#SBATCH") or line.startswith("#!") for line in lines[:at])
