"""The faults the continuity benchmark injects into a running population, each once, each when its moment comes.

Real ones where the one-node Slurm can produce them: `scontrol requeue` of a
first attempt and of a continuation, a crash (the trainer's own
`pbt.fail_once_policy`, and a `kill -9` of another policy's trainer), a user's
`pbt-track cancel` then `resubmit-failed --include-cancelled`, a `kill -9` of
the keeper. One stand-in, because one node cannot lose an answer: an `sbatch`
on the keeper's PATH that, once armed, creates its job and then answers
"Socket timed out" as a controller under load does.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.continuity_figures import JournalLine, Life, lives, parse_journal

STAND_IN_SBATCH = """#!/bin/bash
# Stand-in sbatch (a one-node Slurm cannot lose an answer): once armed, the next call creates
# its job with the real sbatch and then answers as a controller that timed out.
if [ -e "{arm}" ] && mv "{arm}" "{arm}.fired" 2>/dev/null; then
    "{real}" "$@" >/dev/null 2>&1
    echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
    exit 1
fi
exec "{real}" "$@"
"""

CRASHING_POLICY = 2  # crashes by itself: the population's command carries pbt.fail_once_policy=2
USER_PAUSE = 3.0  # seconds the user waits between cancelling a policy and sending it again


@dataclass(frozen=True)
class Attempt:
    policy: int
    experiment: str
    attempt: int
    job_id: str | None
    state: str


def read_attempts(database: Path) -> list[Attempt]:
    if not database.exists():
        return []
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT json_extract(e.params, '$.\"pbt.policy_idx\"'), e.name, s.attempt, s.job_id, s.state "
            "FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id ORDER BY s.id").fetchall()
    except sqlite3.OperationalError:
        return []  # the schema is still being created, or a writer holds it: the next poll reads it
    finally:
        connection.close()
    return [Attempt(int(policy), name, attempt, job_id, state) for policy, name, attempt, job_id, state in rows
            if policy is not None]


@dataclass
class Population:
    """What the injector sees of the population at one poll: the record's attempts and the trainer's journal."""

    attempts: list[Attempt]
    journal: list[JournalLine]

    def latest(self, policy: int) -> Attempt | None:
        mine = [attempt for attempt in self.attempts if attempt.policy == policy]
        return max(mine, key=lambda attempt: attempt.attempt) if mine else None

    def latest_life(self, policy: int) -> Life | None:
        mine = [life for life in lives(self.journal) if life.policy == policy]
        return mine[-1] if mine else None

    def iterations_in_latest_life(self, policy: int) -> int:
        life = self.latest_life(policy)
        if life is None:
            return 0
        return sum(1 for line in self.journal
                   if line.pid == life.pid and line.what == "iteration" and line.time >= life.started)


# Policies no other fault touches. A policy the population keeps replacing restarts itself every PBT interval
# (two iterations of the toy), so its lives never reach the three iterations the requeue waits for; which
# policies those are depends on the run, so the requeue takes whichever of these offers a window first.
CONTINUATION_POLICIES = (1, 5)


@dataclass
class Injector:
    base: Path
    pbt_track: str
    env: dict[str, str]
    start_keeper: Callable[[], subprocess.Popen[str]]
    keeper: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    fired: dict[str, float] = field(default_factory=dict)
    user_pause: dict[int, float] = field(default_factory=dict)

    @property
    def arm(self) -> Path:
        return self.base / "stand-in" / "lose-next-answer"

    def poll(self) -> None:
        population = Population(read_attempts(self.base / "w" / "pbt_tracker.db"), parse_journal(self._journal_text()))
        self._requeue(population, "requeue of a first attempt", 0, first=True)
        for policy in CONTINUATION_POLICIES:  # the first whose continuation runs three iterations in one life
            self._requeue(population, "requeue of a continuation", policy, first=False)
        self._kill_trainer(population, 3)
        self._user_cancel(population, 4)
        elapsed = time.monotonic() - self.started
        if elapsed > 30 and "lost sbatch answer" not in self.fired:
            self.arm.touch()
            self.fired["lost sbatch answer"] = elapsed
        if elapsed > 80 and "kill -9 of the keeper" not in self.fired and self.keeper.poll() is None:
            self.keeper.send_signal(signal.SIGKILL)
            self.keeper.wait()
            self.fired["kill -9 of the keeper"] = elapsed
            self.keeper = self.start_keeper()

    def _journal_text(self) -> str:
        path = self.base / "journal"
        return path.read_text() if path.exists() else ""

    def _requeue(self, population: Population, name: str, policy: int, first: bool) -> None:
        latest = population.latest(policy)
        if name in self.fired or latest is None or latest.state != "RUNNING" or latest.job_id is None:
            return
        if (latest.attempt == 1) != first or population.iterations_in_latest_life(policy) < 3:
            return
        subprocess.run(["scontrol", "requeue", latest.job_id], check=True, capture_output=True)
        self.fired[name] = time.monotonic() - self.started

    def _kill_trainer(self, population: Population, policy: int) -> None:
        name = "kill -9 of a trainer"
        life = population.latest_life(policy)
        if name in self.fired or life is None or population.iterations_in_latest_life(policy) < 5:
            return
        try:
            os.kill(life.pid, signal.SIGKILL)
        except ProcessLookupError:
            return  # between two of its lives: the next poll finds the new one
        self.fired[name] = time.monotonic() - self.started

    def _user_cancel(self, population: Population, policy: int) -> None:
        name = "user cancel, then resubmit-failed"
        latest = population.latest(policy)
        if name in self.fired or latest is None or latest.state != "RUNNING" \
                or population.iterations_in_latest_life(policy) < 4:
            return
        asked = time.monotonic()
        self._pbt_track("cancel", "--experiment", latest.experiment)
        self.fired[name] = asked - self.started
        time.sleep(USER_PAUSE)
        self.user_pause[policy] = time.monotonic() - asked
        self._pbt_track("resubmit-failed", "--experiment", latest.experiment, "--include-cancelled")

    def _pbt_track(self, *argv: str) -> None:
        done = subprocess.run([self.pbt_track, argv[0], "--workdir", "w", *argv[1:]], cwd=self.base, env=self.env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"pbt-track {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")

    def missing(self) -> list[str]:
        expected = ["requeue of a first attempt", "requeue of a continuation", "kill -9 of a trainer",
                    "user cancel, then resubmit-failed", "lost sbatch answer", "kill -9 of the keeper"]
        if not self.arm.with_name(self.arm.name + ".fired").exists():
            self.fired.pop("lost sbatch answer", None)  # armed, but no sbatch came after it
        return [name for name in expected if name not in self.fired]
