"""The kinds of mark a plot holds, what its legend calls each, and how `plot` counts them.

Apart from the marks' placing (`data`) and drawing (`draw`), so that a new
kind is an entry here, its placing, and its style in `draw._MARK_STYLE`.
"""

from __future__ import annotations

__all__ = ["ATTEMPT", "CANCEL", "COUNTED_AS", "CRASH", "KEEPER", "LEGEND", "REPLACEMENT", "RESTART", "UNDONE"]

RESTART = "restart"
REPLACEMENT = "replacement"
ATTEMPT = "attempt"
CRASH = "crash"
CANCEL = "cancel"
KEEPER = "keeper"
UNDONE = "undone"  # a replacement or mutation a continuation did not carry
LEGEND = {  # every kind of mark, in the order the legend lists them
    REPLACEMENT: "replaced by policy N",
    RESTART: "restart from scratch (new life)",
    ATTEMPT: "resubmitted attempt",
    CRASH: "crashed (FAILED, OUT_OF_MEMORY, NODE_FAIL)",
    CANCEL: "cancelled",
    KEEPER: "keeper's decision",
    UNDONE: "decision undone by a continuation",
}
COUNTED_AS = {  # in what `plot` prints: the first three always, the others when the plot has any
    REPLACEMENT: "replacement(s)", RESTART: "restart(s)", ATTEMPT: "later attempt(s)", CRASH: "crash(es)",
    CANCEL: "cancel(s)", KEEPER: "keeper decision(s)", UNDONE: "decision(s) undone",
}
