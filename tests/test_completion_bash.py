"""Completion as a user meets it: an interactive bash with pbt-track's completion script loaded, a Tab pressed.

Path options hand the word to bash's own completion of files or folders,
and names, states and job ids still come from the record.
"""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli

BIN = str(Path(sys.executable).parent)
PBT = str(Path(__file__).resolve().parent / "fixtures" / "pbt_echo.py")


def tab(line: str, cwd: Path) -> str:
    """The command line after typing `line` and pressing Tab once, as bash shows it."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a clean interactive bash, pbt-track on its PATH
        os.chdir(cwd)
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "TERM": "dumb", "HOME": str(cwd), "PS1": "$ ", "INPUTRC": "/dev/null"}
        os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], env)
    seen = b""

    def until(pattern: bytes) -> re.Match[bytes]:
        nonlocal seen
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
            found = re.search(pattern, seen)
            if found:
                return found
        raise AssertionError(f"bash never printed {pattern!r}; it printed {seen!r}")

    try:
        os.write(fd, b'eval "$(_PBT_TRACK_COMPLETE=bash_source pbt-track)"; echo READY\n')
        until(rb"\nREADY")
        # Tab, then turn the completed line into `echo START <line> END` and run it: bash prints the line as completed.
        os.write(fd, line.encode() + b"\t\x01echo START \x05 END\n")
        return until(rb"\nSTART (.*) END\r?\n").group(1).decode().strip()
    finally:
        os.write(fd, b"exit\n")
        os.waitpid(pid, 0)
        os.close(fd)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a project file, a recorded (preview) launch, and files and folders to complete."""
    monkeypatch.delenv("PBT_TRACK_WORKDIR", raising=False)
    (tmp_path / "pbt-track.toml").write_text('workdir = "slurm_logs"\nbackend = "slurm"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--slurm_print_only", "true",
                                      "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    for folder in ("pop1", "out"):
        (tmp_path / folder).mkdir()
    for file in ("portrait.txt", "tpl.sh", "my_run.py"):
        (tmp_path / file).write_text("")
    return tmp_path


@pytest.mark.slow
def test_path_options_complete_files_and_folders_in_bash(project: Path) -> None:
    assert tab("pbt-track report --workdir po", project) == "pbt-track report --workdir pop1/"  # folders only
    assert tab("pbt-track submit --slurm_workdir po", project) == "pbt-track submit --slurm_workdir pop1/"
    assert tab("pbt-track submit --slurm_sbatch_template tp", project) == "pbt-track submit --slurm_sbatch_template tpl.sh"
    assert tab("pbt-track submit --run my_", project) == "pbt-track submit --run my_run.py"
    assert tab("pbt-track plot --output ou", project) == "pbt-track plot --output out/"
    assert tab("pbt-track cancel --workdir slurm_logs --run ech", project) == (
        "pbt-track cancel --workdir slurm_logs --run echo_pbt")  # a selection's --run is a run name


@pytest.mark.slow
def test_names_and_states_still_complete_with_the_workdir_from_the_project_file(project: Path) -> None:
    (project / "deeper").mkdir()
    assert tab("pbt-track show 01", project / "deeper") == "pbt-track show 01_echo_pbt"
    assert tab("pbt-track report -t RUNN", project) == "pbt-track report -t RUNNING"
    assert tab("pbt-track report --experiment 02_", project) == "pbt-track report --experiment 02_echo_pbt"
