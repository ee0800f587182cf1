"""CSV (RFC 4180) and TSV (IANA text/tab-separated-values) output, streamed batch by batch.

Both start with a header line of column names. NULL is an empty field. Arrays (and
geometry) are DALI text: values separated by single spaces. Booleans are ``true``/``false``.
CSV quotes a field when it holds a comma, a quote or a line break (quotes doubled);
lines end in CRLF as RFC 4180 says. TSV cannot quote, so a tab, newline, carriage return
or backslash inside a value is written ``\\t``, ``\\n``, ``\\r``, ``\\\\``.

There is no place for an overflow flag or an error in these formats: a truncated
result is just shorter, and a failure part-way ends the stream (the exception propagates).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from tap.metadata import Column
from tap.votable.codecs import codecs_for
from tap.votable.document import Info, Resource
from tap.votable.rowlimit import RowLimit
from tap.votable.xmltext import unquote

Row = Sequence[Any]


def _cell_writers(columns: Sequence[Column]) -> list[Callable[[Any], str]]:
    writers: list[Callable[[Any], str]] = []
    for codec in codecs_for(columns):
        if codec.datatype == "boolean" and codec.scalar:
            writers.append(lambda v: "true" if v else "false")
        else:
            writers.append(codec.text)
    return writers


def csv_rows(
    columns: Sequence[Column], limit: RowLimit[Row], infos: Iterable[Info | Resource], batch: int
) -> Iterator[bytes]:
    del infos  # CSV has nowhere to put them
    cells = _cell_writers(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([unquote(c.name) for c in columns])
    yield buffer.getvalue().encode("utf-8")
    for rows in limit.batches(batch):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            ["" if v is None else cell(v) for cell, v in zip(cells, row, strict=True)]
            for row in rows
        )
        yield buffer.getvalue().encode("utf-8")


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def tsv_rows(
    columns: Sequence[Column], limit: RowLimit[Row], infos: Iterable[Info | Resource], batch: int
) -> Iterator[bytes]:
    del infos
    cells = _cell_writers(columns)
    header = "\t".join(unquote(c.name).translate(_TSV_ESCAPES) for c in columns) + "\n"
    yield header.encode("utf-8")
    for rows in limit.batches(batch):
        lines = [
            "\t".join(
                "" if v is None else cell(v).translate(_TSV_ESCAPES)
                for cell, v in zip(cells, row, strict=True)
            )
            for row in rows
        ]
        lines.append("")
        yield "\n".join(lines).encode("utf-8")
