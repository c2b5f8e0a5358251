"""The keeper: one sync per interval, then a decision about each experiment, recorded before it is acted on.

It acts only on the record (see keeper_rules), only while it holds the
workdir's lease (see keeper_lease), and sleeps on an Event between intervals,
so that a signal ends the wait at once and an idle keeper costs nothing.
A keeper killed at any point leaves its decisions and the record consistent:
a resubmission is written in the transaction that finds the failure, so the
next keeper either sees the new attempt or decides again.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from pbt_tracker import backends, collector, states
from pbt_tracker.errors import OptionError, PbtTrackError, SchedulerError
from pbt_tracker.keeper import rules as rules_
from pbt_tracker.keeper.events import send_event
from pbt_tracker.keeper.history import policy_stall, started_over_events, undone_decisions
from pbt_tracker.keeper.kept import Kept, epoch
from pbt_tracker.keeper.lease import Lease, LeaseLost, describe
from pbt_tracker.keeper.rules import Attempt, Decision, Rules
from pbt_tracker.launch.record import Echo, quiet
from pbt_tracker.store import Store, queries, utcnow
from pbt_tracker.store import keeper as keeper_store
from pbt_tracker.store.times import iso_utc
from pbt_tracker.store.kept import decisions_on, kept_attempts
from pbt_tracker.store.selection import Selection


@dataclass(frozen=True)
class WatchOptions:
    rules: Rules = Rules()
    selection: Selection = Selection()
    interval: float = 60.0
    once: bool = False
    on_event: list[str] | None = None
    event_timeout: float = 30.0
    resubmit_options: dict[str, Any] = field(default_factory=dict)  # what resumes change: --slurm_partition, ...


def read_kept(store: Store, selection: Selection) -> list[Kept]:
    query = Selection(run=selection.run, experiments=selection.experiments, all_attempts=True)
    with store.read() as connection:
        queries.check_names_exist(connection, selection)
        rows = kept_attempts(connection, query)
    kept: dict[int, Kept] = {}
    by_timeout: dict[str, bool] = {}
    for row in rows:
        if row.run_name == keeper_store.KEEPER_RUN:
            continue
        params = json.loads(row.params or "{}") or {}
        item = kept.setdefault(row.experiment_id, Kept(row.experiment_id, row.name, params, row.cmd, row.train_dir,
                                                       row.cwd, row.backend))
        timeout_ends_it = False
        if row.template_text and "timeout" in row.template_text:
            if row.template_text not in by_timeout:
                from pbt_tracker.backends.slurm.timeout import ends_by_timeout

                by_timeout[row.template_text] = ends_by_timeout(row.template_text)
            timeout_ends_it = by_timeout[row.template_text]
        item.attempts.append(Attempt(row.submission_id, row.attempt, row.state, epoch(row.submitted_at),
                                     epoch(row.started_at), epoch(row.ended_at), row.exit_code, timeout_ends_it))
        item.job_ids[row.submission_id] = row.job_id
        item.log_paths[row.submission_id] = row.log_path
    return list(kept.values())


class Keeper:
    def __init__(self, store: Store, options: WatchOptions, echo: Echo = quiet, now: Any = None) -> None:
        self.store = store
        self.options = options
        self.echo = echo
        self.lease = Lease(store, options.interval)
        self.stop = threading.Event()
        self.continuation_wanted = False
        self.unfinished: list[tuple[str, str, int]] = []  # once done: (experiment, state, attempt) of those not COMPLETED
        self._clock = now or (lambda: datetime.now(timezone.utc).timestamp())

    def check_options(self) -> None:
        """Before the lease is taken and the first sync: a name that matches nothing, or PBT options without PBT."""
        from pbt_tracker.pbt.workspace import policy_index

        with self.store.read() as connection:
            queries.check_names_exist(connection, self.options.selection)
        rules = self.options.rules
        if rules.stall_after is None and not rules.restart_stalled:
            return
        if not any(policy_index(item.params, item.cmd) is not None for item in read_kept(self.store, self.options.selection)):
            given = "--restart-stalled" if rules.restart_stalled else "--stall-after"
            raise OptionError(f"{given} is for PBT policies, and no experiment of this selection has a "
                              "pbt.policy_idx; leave it out")

    def take_lease(self) -> bool:
        """Wait for the lease (with --once, fail at once); False when stopped while waiting."""
        said = False
        while (holder := self.lease.take()) is not None:
            if self.options.once:
                raise LeaseLost(f"{describe(holder)}; let it work, or stop it and retry after that time")
            if not said:
                self.echo(f"Waiting: {describe(holder)}.")
                said = True
            if self.stop.wait(self.options.interval):
                return False
        self.lease.start_heartbeat()
        return True

    def run(self) -> str:
        """Keep going until every experiment is done, --once has made one pass, or a signal came; say which."""
        collector.for_a_long_life()
        if not self.take_lease():
            return "stopped"
        try:
            first = True
            while True:
                outcome = self.one_pass(first)
                first = False
                if outcome == "done":
                    return "done"
                if self.options.once or self.stop.wait(self.options.interval):
                    return "once" if self.options.once else "stopped"
        finally:
            self.lease.release()

    def one_pass(self, first: bool = False) -> str:
        from pbt_tracker.tracker.sync import sync_workdir

        self.lease.renew()
        try:
            for note in sync_workdir(self.store).notes:
                self.echo(f"Note: {note}")
        except SchedulerError as error:
            self._decide_all([(None, None, Decision(rules_.SCHEDULER_UNAVAILABLE, f"{error}; nothing is decided "
                                                   f"until it answers, tried again in {self.options.interval:g} s"))])
            return "waiting"
        kept = read_kept(self.store, self.options.selection)
        decisions, done = self._decisions(kept)
        decisions = [*undone_decisions(self.store, kept), *started_over_events(self.store, kept), *decisions]
        if done == len(kept):
            self.unfinished = [(item.name, item.attempts[-1].state, item.attempts[-1].attempt) for item in kept
                               if item.attempts[-1].state not in (states.COMPLETED, states.CANCELLED)]
            counts = Counter(item.attempts[-1].state for item in kept)
            summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "no experiments"
            if first and not decisions:
                self.echo(f"Nothing to keep: every experiment of this workdir is final ({summary}).")
                return "done"
            decisions.append((None, None, Decision(rules_.FINISHED, f"every experiment is final ({summary})")))
        recorded = self._decide_all(decisions)
        self._act(recorded)
        return "done" if done == len(kept) else "waiting"

    def _decisions(self, kept: list[Kept]) -> tuple[list[tuple[Kept | None, Attempt | None, Decision]], int]:
        now = self._clock()
        rules = self.options.rules
        with self.store.read() as connection:
            earlier = decisions_on(connection, [item.attempts[-1].submission_id for item in kept])
        by_submission: dict[int, list[str]] = {}
        for row in earlier:
            by_submission.setdefault(row.submission_id, []).append(row.action)
        out: list[tuple[Kept | None, Attempt | None, Decision]] = []
        done = 0
        for item in kept:
            latest = item.attempts[-1]
            before = by_submission.get(latest.submission_id, [])
            decision = None
            if latest.state in states.FINAL:
                if rules_.failed_at_start(latest):
                    latest = item.attempts[-1] = replace(latest, last_log_line=item.last_log_line(latest))
                tries = before.count(rules_.RESUME) + before.count(rules_.RESUME_FAILED_AT_START)
                decision = rules_.decide_ended(item.attempts, rules, now, rules_.RESTART_STALLED in before,
                                               tries, backends.get(item.backend).requeues_jobs)
            elif latest.state == states.RUNNING:
                stall = policy_stall(self.store, item, latest, now, rules.stall_after)
                decision = rules_.decide_running(latest, stall, rules) if stall else None
            done += rules_.is_done(latest, decision)
            if decision is not None and (decision.acts and decision.action != rules_.RESTART_STALLED
                                         or decision.action not in before):
                out.append((item, latest, decision))
        return out, done

    def _decide_all(self, decisions: list[tuple[Kept | None, Attempt | None, Decision]]) -> list[tuple[int, Kept | None, Decision]]:  # noqa: E501
        """Write every decision in one transaction, before anything is done about it, then tell about them."""
        if not decisions:
            return []
        self.lease.renew()
        now = utcnow()
        recorded = []
        with self.store.write() as connection:
            for item, attempt, decision in decisions:
                decision_id = keeper_store.record_decision(
                    connection, self.lease.holder, decision.action, decision.reason, now,
                    item.id if item else None, attempt.submission_id if attempt else None, decision.detail or None)
                recorded.append((decision_id, item, decision))
        for item, attempt, decision in decisions:
            self.echo(f"{item.name if item else 'keeper'}: {decision.action}: {decision.reason}")
            self._event(item, attempt, decision, now)
        return recorded

    def _event(self, item: Kept | None, attempt: Attempt | None, decision: Decision, now: datetime) -> None:
        if not self.options.on_event:
            return
        event = {
            "event": decision.action, "reason": decision.reason, "workdir": str(self.store.workdir),
            "experiment": item.name if item else None, "attempt": attempt.attempt if attempt else None,
            "job_id": item.job_ids.get(attempt.submission_id) if item and attempt else None,
            "decided_at": iso_utc(now), "keeper": self.lease.holder,
        }
        failure = send_event(self.options.on_event, event, self.options.event_timeout)
        if failure is not None:
            self.echo(f"keeper: {rules_.EVENT_FAILED}: {failure}")
            with self.store.write() as connection:
                keeper_store.record_decision(connection, self.lease.holder, rules_.EVENT_FAILED, failure, utcnow(),
                                             item.id if item else None, None, {"event": decision.action})

    def _act(self, recorded: list[tuple[int, Kept | None, Decision]]) -> None:
        from pbt_tracker.keeper.actions import cancel_stalled, resume

        stalled = [(decision_id, item) for decision_id, item, d in recorded if d.action == rules_.RESTART_STALLED and item]
        resumed = [(decision_id, item) for decision_id, item, d in recorded if d.resumes and item]
        if stalled:
            self.lease.renew()
            cancel_stalled(self.store, stalled, self.echo)
        if resumed:
            self.lease.renew()
            resume(self.store, resumed, self.options.rules.max_attempts, self.echo, self.options.resubmit_options)


__all__ = ["Keeper", "Kept", "LeaseLost", "PbtTrackError", "WatchOptions", "read_kept"]
