"""How often Python looks for reference cycles, by how long the process lives.

A command answers and exits, and what it allocates lives until then: Python's
default, a collection every few hundred new objects, makes such a command scan
the same young objects (its modules' classes and functions, a thousand rows)
again and again for cycles that the exit frees anyway. The command line raises
the threshold for one command (`for_one_command`). A process that lives on
(the keeper, the page server, a followed log, a redrawn report) sets Python's
own back (`for_a_long_life`) before its loop, so that its memory stays flat.
"""

from __future__ import annotations

import gc

# Read on the first import, from the command line's entry, before anything changed it.
DEFAULT = gc.get_threshold()
# New objects between two collections of the youngest generation for one command: more than a cancel or a
# report of thousands of jobs makes, so that they see none; a command that makes more still collects.
ONE_COMMAND = 50_000


def for_one_command() -> None:
    gc.set_threshold(max(ONE_COMMAND, DEFAULT[0]), *DEFAULT[1:])


def for_a_long_life() -> None:
    gc.set_threshold(*DEFAULT)
