"""The exceptions pbt-track raises on purpose.

Each one carries a message meant for the user as it stands: one line that says
what is wrong and what to do. The CLI prints it and exits non-zero; anything
not derived from `PbtTrackError` is a bug and keeps its traceback.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def did_you_mean(word: str, known: "Iterable[str]") -> str:
    """` (did you mean X?)` for the closest of `known` to a mistyped word, or nothing where none is close."""
    import difflib

    close = difflib.get_close_matches(word, list(dict.fromkeys(known)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


class PbtTrackError(Exception):
    """Base of every error pbt-track reports to the user."""


class RunDescriptionError(PbtTrackError):
    """The run module or the experiments it describes cannot be used."""


class TemplateError(PbtTrackError):
    """An sbatch template cannot be read or rendered."""


class OptionError(PbtTrackError):
    """A launcher option has a value pbt-track cannot use."""


class PathError(OptionError):
    """A path holds what no script or listing can carry: a line break or a NUL."""


class SchedulerError(PbtTrackError):
    """A scheduler command is missing, failed, hung or printed something unreadable."""

    backend: str | None = None  # whose scheduler it was, where a sync says so: a report names it and goes on


class StoreError(PbtTrackError):
    """The workdir or its database cannot be opened or written."""


class NoDatabaseError(StoreError):
    """The workdir holds no pbt-track database."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer pbt-track than this one."""


class SchedulerTimeout(SchedulerError):
    """A scheduler command did not answer in time; what it did is not known."""


class AccountingUnavailable(SchedulerError):
    """sacct cannot answer (accounting disabled, or too slow); the job list must do without it."""


class PlotError(PbtTrackError):
    """There is nothing to plot, matplotlib is missing, or the picture cannot be written."""


class ServeError(PbtTrackError):
    """`pbt-track serve` cannot listen where it was asked to, or cannot read a workdir's record."""


class ClaimError(PbtTrackError):
    """A job cannot hold its experiment's claim: the claim file's descriptor is not open, or its filesystem locks nothing."""
