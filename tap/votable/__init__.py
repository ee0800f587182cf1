"""Query results as VOTable (TABLEDATA, BINARY, BINARY2), CSV and TSV, and error documents.

resolve_format(value) -> OutputFormat        RESPONSEFORMAT/FORMAT → writer + MIME type
DESCRIPTIONS                                 outputFormat entries for /capabilities
write(columns, rows, fmt, *, infos, maxrec)  rows (tuples) → Iterator[bytes]
query_result(conn, sql, columns, fmt, *, infos, maxrec) → Iterator[bytes]
                                             from PostgreSQL, fast path for BINARY/2
stream_rows(conn, sql, *, maxrec, batch)     a server-side cursor's rows
error_document(message, *, infos) -> bytes   QUERY_STATUS=ERROR document
Info(name, value, content=None)              an INFO element (QUERY, SQL, standardID…)
"""

from tap.votable.document import Info, error_document
from tap.votable.formats import DESCRIPTIONS, FormatDescription, OutputFormat, resolve_format
from tap.votable.rowlimit import resolve_maxrec
from tap.votable.stream import RowStream, query_result, stream_rows, write

__all__ = [
    "DESCRIPTIONS",
    "FormatDescription",
    "Info",
    "OutputFormat",
    "RowStream",
    "error_document",
    "query_result",
    "resolve_format",
    "resolve_maxrec",
    "stream_rows",
    "write",
]
