"""The whole table of launch options, gathered from the registry, and a launch's options settled against it.

launch/ holds the options every backend shares and the type of a row; each
backend adds its own rows and builds its own dataclass from the settled
values (`Backend.option_rows`, `Backend.launch_options`). So the two command
lines, the record and resubmission meet here, whatever backends are
registered. Gathering the table imports every backend's facade and rows but
not the launch machinery: each `pbt-track --help` builds submit's options
from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pbt_tracker import backends
from pbt_tracker.errors import OptionError
from pbt_tracker.launch.option_table import COMMON_OPTIONS, Option

if TYPE_CHECKING:
    import argparse

    from pbt_tracker.launch.options import LaunchOptions

__all__ = ["add_arguments", "launch_options", "launch_options_from_record", "table"]


def table() -> tuple[Option, ...]:
    """The shared options, then each backend's own in the registry's order.

    --backend offers the registered names (the default first) and a shared
    option takes the defaults that backends set for it.
    """
    owners = backends.all_backends()
    names = tuple(backend.name for backend in owners)
    common = []
    for option in COMMON_OPTIONS:
        if option.name == "backend":
            option = option._replace(default=backends.DEFAULT, choices=_choices(names))
        differing = tuple((backend.name, backend.common_defaults()[option.name]) for backend in owners
                          if option.name in backend.common_defaults())
        common.append(option._replace(backend_defaults=differing) if differing else option)
    rows = [*common]
    seen = {option.name for option in common}
    for backend in owners:
        for option in backend.option_rows():
            if option.name in seen or option.backend != backend.name:
                raise OptionError(f"backend {backend.name!r} brings option --{option.name}, which is taken or not "
                                  "its own; name its options after the backend, owned by it")
            seen.add(option.name)
            rows.append(option)
    return tuple(rows)


def launch_options(
    values: Mapping[str, Any], backend: str | None = None, run_name: str | None = None, *, recorded: bool = False
) -> LaunchOptions:
    """The backend's launch options from either parser's values (or a record's); every option check happens here.

    `run_name` stands in for --run when a caller hands over a run description it loaded itself.
    """
    from pbt_tracker.launch.options import settled_values
    from pbt_tracker.launch.python_setting import settled_python

    name = backend or values.get("backend") or backends.DEFAULT
    known = backends.names()
    if name not in known:
        raise OptionError(f"--backend {name!r} is not a backend; choose one of {', '.join(_choices(known))}")
    settled = settled_values(table(), values, name)
    settled["run"] = settled["run"] or run_name
    settled["python"] = settled_python(settled["python"], recorded)
    return backends.get(name).launch_options(settled, recorded)


def launch_options_from_record(recorded: Mapping[str, Any], backend: str | None = None) -> LaunchOptions:
    """A recorded launch's options (launches.options), with the table's defaults for keys it lacks."""
    return launch_options(recorded, backend, recorded=True)


def add_arguments(parser: argparse.ArgumentParser, owner: str) -> argparse.ArgumentParser:
    """The original launcher's argparse flags that `owner` (COMMON or a backend) owns."""
    from pbt_tracker.launch.options import add_arguments as add

    return add(parser, table(), owner)


def _choices(names: tuple[str, ...]) -> tuple[str, ...]:
    """The default first, as the original launcher lists them."""
    return (backends.DEFAULT, *(name for name in names if name != backends.DEFAULT))
