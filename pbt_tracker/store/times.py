"""Times as pbt-track prints them: one form for every command, the lease error and the page.

The record stores naive UTC text (`2026-12-07 14:01:07.445424`); people and
scripts are shown ISO 8601 with a Z, to the second, so that a time read in
one place can be pasted into a comparison with any other.
"""

from __future__ import annotations

from datetime import datetime
from typing import overload

from pbt_tracker.store.connection import parse_time


@overload
def iso_utc(moment: datetime) -> str: ...
@overload
def iso_utc(moment: None) -> None: ...
@overload
def iso_utc(moment: datetime | None) -> str | None: ...
def iso_utc(moment: datetime | None) -> str | None:
    """The one form every command prints a time in: ISO 8601, UTC, to the second, with Z (2026-12-07T14:01:07Z).

    `moment` is naive UTC, as the record and utcnow() hold times.
    """
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def iso_text(text: str | None) -> str | None:
    """A time as the record stores it (UTC text), in iso_utc's form: cut from the text when it has the record's
    form, as a report does three times a row."""
    if not text:
        return None
    if len(text) >= 19 and text[10] in " T" and text[19:20] in ("", "."):
        return f"{text[:10]}T{text[11:19]}Z"
    return iso_utc(parse_time(text))
