"""The registry of backends: the one place where backend names are tied to what they do.

Everything else asks `get(launch backend)` and uses the facts and hooks of
`Backend`. A name maps to where its facade lives (`module:attribute`), which
is imported the first time the name is asked for: a report of Slurm jobs
imports Slurm's facade alone, and a backend's machinery waits inside its hooks.

A backend of pbt-track's own is a folder here and a line in `_PLACES`. One
kept elsewhere is added with `register(name, "module:attribute")`, or, for
the `pbt-track` processes a user starts, by naming its facade in the
environment: PBT_TRACK_BACKENDS=module:attribute[,module:attribute...],
whose facades are imported (and their names learnt) only when a command
needs a name the registry does not hold, or every backend.
"""

from __future__ import annotations

import os

from pbt_tracker.backends.base import Backend, CancelTarget, Resubmitter, Stopped
from pbt_tracker.errors import OptionError, StoreError

__all__ = [
    "DEFAULT", "ENVIRONMENT", "Backend", "CancelTarget", "Resubmitter", "Stopped", "all_backends", "get", "names",
    "register", "report_notes", "unfollowed", "unregister",
]

ENVIRONMENT = "PBT_TRACK_BACKENDS"
DEFAULT = "processes"  # what a launch runs on without --backend, as in the original launcher

# name -> its facade, or where it lives; a class found there is called without arguments.
_PLACES: dict[str, str | Backend] = {
    "slurm": "pbt_tracker.backends.slurm.backend:SlurmBackend",
    "processes": "pbt_tracker.backends.processes.backend:ProcessesBackend",
    "ngc": "pbt_tracker.backends.ngc.backend:NgcBackend",
}
_BUILT_IN = frozenset(_PLACES)
_LOADED: dict[str, Backend] = {}
_FROM_ENVIRONMENT: dict[str, dict[str, Backend]] = {}  # the variable's text -> the backends it names


def register(name: str, facade: str | Backend) -> None:
    """Add a backend: its facade, or `module:attribute` to import it from when the name is first asked for."""
    if name in _BUILT_IN:
        raise OptionError(f"backend {name!r} is one of pbt-track's own; give yours another name")
    if isinstance(facade, str):
        _check_place(facade, f"backend {name!r}'s place")
    _PLACES[name] = facade
    _LOADED.pop(name, None)


def unregister(name: str) -> None:
    """Forget a backend added with `register`; pbt-track's own stay."""
    if name in _BUILT_IN:
        raise OptionError(f"backend {name!r} is one of pbt-track's own and cannot be removed")
    _PLACES.pop(name, None)
    _LOADED.pop(name, None)


def get(name: str) -> Backend:
    """The backend a launch recorded; a name this version does not know means a newer record."""
    backend = _LOADED.get(name)
    if backend is not None:
        return backend
    if name in _PLACES:
        backend = _load(_PLACES[name], "register it from a module that can be imported here")
        if backend.name != name:
            raise OptionError(f"backend {name!r} is registered with a facade named {backend.name!r}; "
                              "register it under its own name")
        _LOADED[name] = backend
        return backend
    backend = _from_environment().get(name)
    if backend is None:
        raise StoreError(
            f"this record has a launch on backend {name!r}, which this pbt-track does not know; upgrade pbt-track"
        )
    return backend


def names() -> tuple[str, ...]:
    """Every backend a launch can name: pbt-track's own and registered ones in order, then the environment's."""
    return (*_PLACES, *(name for name in _from_environment() if name not in _PLACES))


def all_backends() -> list[Backend]:
    return [get(name) for name in names()]


def unfollowed() -> tuple[str, ...]:
    """Names of the backends whose jobs pbt-track does not follow after submission."""
    return tuple(backend.name for backend in all_backends() if not backend.follows_jobs)


def report_notes(names: list[str]) -> str:
    """The lines a report adds under its table for the backends of its rows, each once."""
    notes = dict.fromkeys(get(name).report_note for name in names)
    return "".join(f"{note}\n" for note in notes if note)


def _from_environment() -> dict[str, Backend]:
    """The backends the environment names, imported once for each text the variable has had."""
    text = os.environ.get(ENVIRONMENT, "")
    if not text.strip():
        return {}
    found = _FROM_ENVIRONMENT.get(text)
    if found is not None:
        return found
    found = {}
    for place in filter(None, (part.strip() for part in text.split(","))):
        _check_place(place, f"{ENVIRONMENT}'s entry")
        backend = _load(place, f"make its module importable here (PYTHONPATH), or take it out of {ENVIRONMENT}")
        if backend.name in _BUILT_IN:
            raise OptionError(f"{ENVIRONMENT} names a backend {backend.name!r}, as one of pbt-track's own is named; "
                              "give yours another name")
        found[backend.name] = backend
    _FROM_ENVIRONMENT[text] = found
    return found


def _check_place(place: str, what: str) -> None:
    module, colon, attribute = place.partition(":")
    if not (module and colon and attribute):
        raise OptionError(f"{what} {place!r} is not module:attribute; name the facade as, e.g., my_sched.backend:Sched")


def _load(place: str | Backend, advice: str) -> Backend:
    """The facade at `place`: the object itself, or what `module:attribute` names (a class is instantiated)."""
    if not isinstance(place, str):
        return place
    from importlib import import_module

    module, _, attribute = place.partition(":")
    try:
        found = getattr(import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        raise OptionError(f"backend {place} cannot be imported ({type(error).__name__}: {error}); {advice}") from None
    backend = found() if isinstance(found, type) else found
    if not isinstance(getattr(backend, "name", None), str):
        raise OptionError(f"{place} is not a backend: it has no name; point at the facade "
                          "(see pbt_tracker.backends.base)")
    return backend
