"""`report --watch`: the report redrawn in place, as `watch` would, until Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TextIO

from pbt_tracker import collector
from pbt_tracker.store.times import iso_utc

_HOME_AND_CLEAR = "\x1b[H\x1b[2J"


def watch_loop(draw: Callable[[], str], seconds: float, out: TextIO,
               sleep: Callable[[float], Any] = time.sleep, now: Callable[[], datetime] | None = None) -> None:
    """Draw, wait, draw again; on a terminal each drawing replaces the last, on a pipe they follow each other."""
    collector.for_a_long_life()
    in_place = bool(getattr(out, "isatty", None) and out.isatty())
    clock = now or (lambda: datetime.now(timezone.utc))
    try:
        while True:
            text = draw()
            stamp = iso_utc(clock())
            header = f"Every {seconds:g}s: pbt-track report  {stamp}\n\n"
            out.write((_HOME_AND_CLEAR if in_place else "") + header + text + ("" if in_place else "\n"))
            out.flush()
            sleep(seconds)
    except KeyboardInterrupt:
        return
