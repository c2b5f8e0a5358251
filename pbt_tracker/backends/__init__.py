"""The registry of backends: the one place where backend names are tied to what they do.

Everything else asks `get(launch backend)` and uses the facts and hooks of
`Backend`; a new backend is a module here and a line below.
"""

from __future__ import annotations

from pbt_tracker.backends.base import Backend, CancelTarget, Resubmitter, Stopped
from pbt_tracker.backends.ngc.backend import NgcBackend
from pbt_tracker.backends.processes.backend import ProcessesBackend
from pbt_tracker.backends.slurm.backend import SlurmBackend
from pbt_tracker.errors import StoreError

__all__ = ["Backend", "CancelTarget", "Resubmitter", "Stopped", "all_backends", "get", "report_notes", "unfollowed"]

_REGISTERED: dict[str, Backend] = {
    backend.name: backend for backend in (SlurmBackend(), ProcessesBackend(), NgcBackend())
}


def get(name: str) -> Backend:
    """The backend a launch recorded; a name this version does not know means a newer record."""
    try:
        return _REGISTERED[name]
    except KeyError:
        raise StoreError(
            f"this record has a launch on backend {name!r}, which this pbt-track does not know; upgrade pbt-track"
        ) from None


def all_backends() -> list[Backend]:
    return list(_REGISTERED.values())


def unfollowed() -> tuple[str, ...]:
    """Names of the backends whose jobs pbt-track does not follow after submission."""
    return tuple(name for name, backend in _REGISTERED.items() if not backend.follows_jobs)


def report_notes(names: list[str]) -> str:
    """The lines a report adds under its table for the backends of its rows, each once."""
    notes = dict.fromkeys(get(name).report_note for name in names)
    return "".join(f"{note}\n" for note in notes if note)
