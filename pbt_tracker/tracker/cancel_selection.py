"""What a cancel must be told, checked before anything else is loaded or opened.

Apart from `tracker.cancel`, whose imports (the backends, the process
helpers) `pbt-track cancel` makes while the record's check runs aside.
"""

from __future__ import annotations

from pbt_tracker.errors import OptionError
from pbt_tracker.store.selection import Selection


def check_cancel_selection(selection: Selection, everything: bool) -> None:
    """Before the record is opened (and synced, which writes): a cancel without a selection is refused."""
    if selection.is_empty and not everything:
        raise OptionError("say what to cancel: --experiment NAME, --run NAME, --job ID, --state STATE, or --all")
