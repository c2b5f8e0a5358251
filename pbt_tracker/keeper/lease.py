"""The lease that lets one keeper at a time act on a workdir.

A keeper acts only while it holds the lease row, which it renews from a
thread of its own every interval, so that a long resubmission does not let it
lapse. A keeper that dies stops renewing; after LEASE_INTERVALS intervals
another may take over. A keeper that finds its lease taken stops acting.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from pbt_tracker import processes
from pbt_tracker.errors import PbtTrackError
from pbt_tracker.store import lease as lease_store
from pbt_tracker.store import open_store, utcnow
from pbt_tracker.store.connection import Store
from pbt_tracker.store.times import iso_text
from pbt_tracker.store.lease import LeaseHolder

LEASE_INTERVALS = 3


class LeaseLost(PbtTrackError):
    """Another keeper took this workdir's lease; this one must not act any more."""


def holder_id() -> str:
    me = processes.this_process()
    return f"{me.host}:{me.pid}:{me.start}"


def describe(holder: LeaseHolder) -> str:
    return f"the keeper with pid {holder.pid} on {holder.host} holds this workdir's lease until {iso_text(holder.expires_at)}"


class Lease:
    def __init__(self, store: Store, interval: float) -> None:
        self.store = store
        self.holder = holder_id()
        self.host = processes.hostname()
        self.pid = processes.this_process().pid
        self.length = timedelta(seconds=LEASE_INTERVALS * interval)
        self.interval = interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, store: Store | None = None) -> LeaseHolder | None:
        """Take or renew; None when held, else the holder's row.

        A holder on this host whose process is gone (a keeper killed with -9) is
        not waited for: it can renew nothing, and the population would go
        unwatched until its lease lapsed. One on another host is waited for,
        as this host cannot see its processes; a pid that was reused is taken
        for alive, which only means waiting.
        """
        now = utcnow()
        with (store or self.store).write() as connection:
            held = lease_store.take_lease(connection, self.holder, self.host, self.pid, now, now + self.length)
            if held is not None and held.host == self.host \
                    and not processes.is_running(processes.ProcessId(held.pid, None, held.host)):
                held = lease_store.take_lease(connection, self.holder, self.host, self.pid, now, now + self.length,
                                              abandoned_by=held.holder)
            return held

    def renew(self) -> None:
        """Renew before acting; raises LeaseLost when another keeper took it meanwhile."""
        holder = None if self.lost.is_set() else self.take()
        if self.lost.is_set() or holder is not None:
            self.lost.set()
            raise LeaseLost(
                "another keeper took this workdir's lease; this keeper stops (see `pbt-track report` for its decisions)"
            )

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, args=(self.store.workdir,), daemon=True,
                                        name="pbt-track-lease")
        self._thread.start()

    def _beat(self, workdir: Path) -> None:
        store = open_store(workdir, create=False)  # sqlite3 connections stay with their thread
        try:
            while not self._stop.wait(self.interval):
                try:
                    if self.take(store) is not None:
                        self.lost.set()
                        return
                except PbtTrackError:
                    continue  # a locked database: the next beat tries again, well within the lease
        finally:
            store.close()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self.lost.is_set():
            with self.store.write() as connection:
                lease_store.release_lease(connection, self.holder)
