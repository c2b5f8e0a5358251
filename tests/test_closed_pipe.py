"""A reader that stops early (`pbt-track report --format json | head -1`) ends the command at once, quietly, with
status 0: the reader chose to stop, and nothing went wrong (as `git log | head` does not complain).

Each command runs as a real process whose stdout is a real pipe, read for one line and then closed while the
command still has most of its text to write (more than a pipe holds).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_report_stream import build

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 ended experiments, whose first one's log holds 100,000 lines."""
    work = tmp_path_factory.mktemp("pipe") / "w"
    build(work, 2000, 1)
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET log_path = ?", (str(work / "l-%j.out"),))
    connection.close()
    (work / "l-1000.out").write_text("".join(f"step {step}\n" for step in range(100_000)))
    return work


@pytest.mark.parametrize(("argv", "first"), [
    (["report", "--format", "json"], b"[\n"),
    (["report", "--format", "csv"], b"run,experiment,attempt,job_id,state,"),
    (["report"], b"experiment    attempt  job_id  state "),
    (["report", "--all-attempts", "--format", "json", "-o", "experiment,state"], b"[\n"),
    (["logs", "00_exp0"], b"step 0\n"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_a_reader_closing_the_pipe_early_ends_the_command_quietly_with_status_0(work: Path, argv: list[str],
                                                                                first: bytes) -> None:
    process = subprocess.Popen([PBT_TRACK, *argv, "--workdir", str(work), "--no-sync"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert (process.wait(timeout=60), stderr.decode(), line[:len(first)]) == (0, "", first)

def test_the_whole_text_still_arrives_when_the_reader_reads_it_all(work: Path) -> None:
    done = subprocess.run([PBT_TRACK, "logs", "00_exp0", "--workdir", str(work), "--no-sync"], capture_output=True,
                          timeout=60)
    assert (done.returncode, done.stderr, done.stdout.count(b"\n")) == (0, b"", 100_000)
