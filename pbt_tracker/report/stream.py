"""JSON and CSV reports written as their rows are read: a report of a year of launches never holds its text whole.

`write_report` writes report rows; `write_json` and `write_csv` any rows.

The JSON is byte for byte what `json.dumps(rows, indent=2)` gives, without
its Python-level encoder (an indent turns the C one off): the C encoder
writes the values of a chunk of rows at once, parted by a separator no
encoded value can hold (ensure_ascii escapes every control character), and
they are put in place in a template of the rows with their keys; a column
null throughout the chunk is written in the template itself. A chunk with a
value that an indent would spread over lines (a --pbt row's parameters, the
keeper's decision) is written by json.dumps itself. Chunks are small: a
hundred rows' text is reused from memory the process already holds, where a
thousand rows' asked for fresh pages each time. Rows are tuples of values in
the order of `fields`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, compress, cycle, islice, repeat
from operator import attrgetter, itemgetter
from typing import Any, TextIO

from pbt_tracker.report.rows import MAPPINGS, ReportRow

CHUNK = 100
_ITEM, _KEY = "\x00", "\x01"  # written raw by no value: ensure_ascii escapes them inside strings


def chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def write_json(out: TextIO, fields: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """The rows as a JSON list of objects, then a newline."""
    encode = json.JSONEncoder(separators=(_ITEM, _KEY)).encode
    templates: dict[tuple[bool, ...], str] = {}
    first = True
    for chunk in chunks(rows):
        # A column null in every row of the chunk (--pbt's columns in a plain report, a reason nobody waits
        # for) is written into the template instead of being encoded, split and put in place value by value.
        values = list(chain.from_iterable(chunk))
        shown = tuple(values[column::len(fields)].count(None) != len(chunk) for column in range(len(fields)))
        if shown not in templates:
            templates[shown] = _template(fields, shown)
        width = sum(shown)
        if width < len(fields):
            values = list(compress(values, cycle(shown)))
        text = encode(values)
        values = text[1:-1].split(_ITEM) if width else []
        flat = _KEY not in text and f"{_ITEM}[" not in text and text[1] != "[" and len(values) == width * len(chunk)
        if flat:  # scalars only: each value as json.dumps writes it, indented in place
            body = ",\n".join([templates[shown]] * len(chunk)) % tuple(values)
        else:
            body = ",\n".join(_indented(dict(zip(fields, row))) for row in chunk)
        out.write("[\n" if first else ",\n")
        out.write(body)
        first = False
    out.write("[]\n" if first else "\n]\n")


def _template(fields: tuple[str, ...], shown: tuple[bool, ...]) -> str:
    """One row's object as json.dumps indents it inside the list, a %s for each shown value, null for the others."""
    return "  {\n" + ",\n".join(f"    {json.dumps(field).replace('%', '%%')}: {'%s' if value else 'null'}"
                                 for field, value in zip(fields, shown)) + "\n  }"


def _indented(item: dict[str, Any]) -> str:
    return "  " + json.dumps(item, indent=2).replace("\n", "\n  ")


def write_csv(out: TextIO, fields: tuple[str, ...], rows: Iterable[tuple[Any, ...]],
              mapping_columns: Sequence[int] | None = None) -> None:
    """The rows as CSV under a header of `fields`; a mapping (a policy's parameters) as JSON text.

    `mapping_columns` are the positions that may hold a mapping (None: any); only they are looked into.
    """
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for chunk in chunks(rows):
        if mapping_columns is None:
            found = dict in set(map(type, chain.from_iterable(chunk)))
        else:
            found = any(dict in set(map(type, map(itemgetter(column), chunk))) for column in mapping_columns)
        if found:
            chunk = [tuple(json.dumps(value) if isinstance(value, dict) else value for value in row) for row in chunk]
        writer.writerows(chunk)


def write_report(out: TextIO, output_format: str, rows: Iterable[ReportRow],
                 latest: dict[tuple[int, str], dict[str, str]] | None = None, columns: tuple[str, ...] | None = None,
                 started_over: dict[tuple[int, str], list[dict[str, Any]]] | None = None) -> None:
    """JSON or CSV of the rows, written as they come: every field, or with `-o` exactly those columns in that
    order. Without columns, JSON's objects end with `pbt_started_over` (`report --pbt`: each experiment's start
    overs) and `keeper_last_decision` (the keeper's latest decision) when these are given."""
    fields: tuple[str, ...] = ReportRow._fields
    picked: Sequence[str] = fields
    values: Iterable[tuple[Any, ...]] = rows
    if columns:
        from pbt_tracker.report.table import column_fields

        fields, picked = columns, column_fields(columns)
        values = map(attrgetter(*picked), rows) if len(picked) > 1 else ((getattr(row, picked[0]),) for row in rows)
    if output_format == "csv":
        write_csv(out, fields, values, [index for index, field in enumerate(picked) if field in MAPPINGS])
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
