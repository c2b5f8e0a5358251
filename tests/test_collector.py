"""A command collects reference cycles rarely; a process that lives on collects them as often as Python would."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbt_tracker import collector
from pbt_tracker.report.logs import LogTarget, follow
from pbt_tracker.report.watch import watch_loop
from tests.conftest import REPO_ROOT

# The command line's entry, saying at exit how often the process ended up collecting, and Python's own figure.
ENTRY = ("import atexit, gc; from pbt_tracker import collector; "
         "atexit.register(lambda: print('collects every', gc.get_threshold()[0], 'python', collector.DEFAULT[0])); "
         "from pbt_tracker.cli import main; main()")


@pytest.fixture
def one_command() -> Iterator[None]:
    """This process as the command line leaves it for one command; Python's own threshold again afterwards."""
    saved = gc.get_threshold()
    collector.for_one_command()
    yield
    gc.set_threshold(*saved)


def collects(*args: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=120)
    *_, last = done.stdout.splitlines()
    words = last.split()
    assert words[:2] == ["collects", "every"], done.stdout + done.stderr
    return int(words[2]), int(words[4])


def test_a_command_that_answers_and_exits_collects_cycles_rarely(quick_local_launch: Path) -> None:
    threshold, python = collects("report", "--no-sync", "--workdir", str(quick_local_launch))
    assert threshold == max(collector.ONE_COMMAND, python) and threshold > python


def test_the_keeper_collects_cycles_as_often_as_python_would(quick_local_launch: Path) -> None:
    threshold, python = collects("watch", "--once", "--workdir", str(quick_local_launch))
    assert threshold == python


def test_a_redrawn_report_and_a_followed_log_collect_cycles_as_often_as_python_would(one_command: None,
                                                                                      tmp_path: Path) -> None:
    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    watch_loop(lambda: "drawn\n", 1, io.StringIO(), interrupted)
    assert gc.get_threshold() == collector.DEFAULT

    collector.for_one_command()
    target = LogTarget("00_toy", 1, "7765", "RUNNING", tmp_path / "job.out")
    follow(lambda: target, io.StringIO(), io.StringIO(), lines=None, sleep=interrupted)
    assert gc.get_threshold() == collector.DEFAULT
