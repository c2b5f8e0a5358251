"""Each PBT policy's progress as the record's copied history tells it, for `report --pbt`.

The history keeps iterations whose files IsaacGymEnvs has since deleted, and
the files of a policy's earlier lives too; a policy's live iteration is the
highest of its current life, the one its most recently written file belongs to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from typing import Protocol

    class IterationRow(Protocol):
        """What is read of a row: a pbt_iterations row (store.history.PolicyIteration), or the page's
        serve.population.DecisiveRow."""

        @property
        def experiment_id(self) -> int: ...
        @property
        def policy(self) -> int: ...
        @property
        def iteration(self) -> int: ...
        @property
        def true_objective(self) -> float | None: ...
        @property
        def experiment_name(self) -> str | None: ...
        @property
        def params(self) -> str | None: ...
        @property
        def file_key(self) -> str: ...
        @property
        def file_mtime(self) -> Any: ...  # the record's text, the page's seconds: compared only with its own kind


__all__ = ["PbtProgress", "progress_from_history", "short_params"]


class PbtProgress(TypedDict, total=False):
    """A policy's pbt_* values, as the report row's fields of the same names hold them."""

    pbt_policy: int | None
    pbt_iteration: int | None
    pbt_objective: float | None
    pbt_best_objective: float | None
    pbt_population_best: float | None
    pbt_params: dict[str, object] | None


def progress_from_history(rows: Iterable[IterationRow], experiment_id: int, policy: int) -> PbtProgress | None:
    """The report's pbt_* values of the policy that `experiment_id` runs; None when nothing of it was copied.

    `rows` are pbt_iterations rows of the policy's launch: its own files are
    the ones its experiment holds outside ``best`` directories; its best also
    counts the ``best<idx>`` copies made of it; the population's best counts every row.
    """
    rows = list(rows)
    own = [row for row in rows if row.experiment_id == experiment_id and not _is_best_copy(row)]
    if not own:
        return None
    life = max(own, key=lambda row: (row.file_mtime, row.iteration)).experiment_name
    live = max((row for row in own if row.experiment_name == life), key=lambda row: (row.iteration, row.file_mtime))
    copies = [row for row in rows if _is_best_copy(row) and row.policy == policy]
    return {
        "pbt_iteration": live.iteration,
        "pbt_objective": live.true_objective,
        "pbt_best_objective": max(_objectives([*own, *copies])),
        "pbt_population_best": max(_objectives(rows)),
        "pbt_params": json.loads(live.params or "{}") or {},
    }


def short_params(params: Mapping[str, object] | None) -> str | None:
    """``lr=0.001 gamma=0.99``: each key's last part, numbers to four significant digits."""
    if not params:
        return None
    return " ".join(f"{str(key).rsplit('.', 1)[-1]}={_short(value)}" for key, value in params.items())


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_best_copy(row: IterationRow) -> bool:
    return str(row.file_key).startswith("best")


def _objectives(rows: Iterable[IterationRow]) -> list[float]:
    return [row.true_objective for row in rows if row.true_objective is not None]
