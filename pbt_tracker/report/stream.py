"""JSON and CSV reports written as their rows are read: a report of a year of launches never holds its text whole.

`write_report` writes report rows; `write_json` and `write_csv` any rows.

The JSON is byte for byte what `json.dumps(rows, indent=2)` gives, without
its Python-level encoder (an indent turns the C one off): the C encoder
writes the values of a chunk of rows at once, parted by a separator no
encoded value can hold (ensure_ascii escapes every control character), and
they are put in place in a template of the rows with their keys. A chunk with a value that an indent would spread over lines (a
--pbt row's parameters, the keeper's decision) is written by json.dumps
itself. Rows are tuples of values in the order of `fields`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import chain, islice, repeat
from operator import attrgetter
from typing import Any, TextIO

from pbt_tracker.report.rows import ReportRow

CHUNK = 1000
_ITEM, _KEY = "\x00", "\x01"  # written raw by no value: ensure_ascii escapes them inside strings


def chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def write_json(out: TextIO, fields: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """The rows as a JSON list of objects, then a newline."""
    encode = json.JSONEncoder(separators=(_ITEM, _KEY)).encode
    row_text = "  {\n" + ",\n".join(f"    {json.dumps(field).replace('%', '%%')}: %s" for field in fields) + "\n  }"
    width, first = len(fields), True
    for chunk in chunks(rows):
        text = encode(list(chain.from_iterable(chunk)))
        values = text[1:-1].split(_ITEM)
        flat = _KEY not in text and f"{_ITEM}[" not in text and text[1] != "[" and len(values) == width * len(chunk)
        if flat:  # scalars only: each value as json.dumps writes it, indented in place
            body = ",\n".join([row_text] * len(chunk)) % tuple(values)
        else:
            body = ",\n".join(_indented(dict(zip(fields, row))) for row in chunk)
        out.write(("[\n" if first else ",\n") + body)
        first = False
    out.write("[]\n" if first else "\n]\n")


def _indented(item: dict[str, Any]) -> str:
    return "  " + json.dumps(item, indent=2).replace("\n", "\n  ")


def write_csv(out: TextIO, fields: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """The rows as CSV under a header of `fields`; a mapping (a policy's parameters) as JSON text."""
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for chunk in chunks(rows):
        if dict in set(map(type, chain.from_iterable(chunk))):
            chunk = [tuple(json.dumps(value) if isinstance(value, dict) else value for value in row) for row in chunk]
        writer.writerows(chunk)


def write_report(out: TextIO, output_format: str, rows: Iterable[ReportRow],
                 latest: dict[tuple[int, str], dict[str, str]] | None = None, columns: tuple[str, ...] | None = None,
                 started_over: dict[tuple[int, str], list[dict[str, Any]]] | None = None) -> None:
    """JSON or CSV of the rows, written as they come: every field, or with `-o` exactly those columns in that
    order. Without columns, JSON's objects end with `pbt_started_over` (`report --pbt`: each experiment's start
    overs) and `keeper_last_decision` (the keeper's latest decision) when these are given."""
    fields: tuple[str, ...] = ReportRow._fields
    values: Iterable[tuple[Any, ...]] = rows
    if columns:
        from pbt_tracker.report.table import column_fields

        fields, picked = columns, column_fields(columns)
        values = map(attrgetter(*picked), rows) if len(picked) > 1 else ((getattr(row, picked[0]),) for row in rows)
    if output_format == "csv":
        write_csv(out, fields, values)
        return
    if not columns and (latest or started_over is not None):
        fields += (("pbt_started_over",) if started_over is not None else ()) + (
            ("keeper_last_decision",) if latest is not None else ())
        values = (row + _keyed(row, started_over, latest) for row in rows)
    elif not columns and latest is not None:  # the keeper decided nothing: a null each
        fields += ("keeper_last_decision",)
        values = map(tuple.__add__, rows, repeat((None,)))
    write_json(out, fields, values)


def _keyed(row: ReportRow, started_over: dict[tuple[int, str], list[dict[str, Any]]] | None,
           latest: dict[tuple[int, str], dict[str, str]] | None) -> tuple[Any, ...]:
    key = (row.launch_id, row.experiment)
    return ((started_over.get(key, []),) if started_over is not None else ()) + (
        (latest.get(key),) if latest is not None else ())
