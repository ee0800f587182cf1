"""Query results as VOTable (TABLEDATA, BINARY, BINARY2), CSV and TSV, and error documents.

resolve_format(value) -> OutputFormat        RESPONSEFORMAT/FORMAT → writer + MIME type
DESCRIPTIONS                                 outputFormat entries for /capabilities
write(columns, rows, fmt, *, infos, maxrec)  rows (tuples) → Iterator[bytes]
query_result(conn, sql, columns, fmt, *, infos, maxrec) → Iterator[bytes]
                                             from PostgreSQL, fast path for BINARY/2
stream_rows(conn, sql, *, maxrec, batch)     a server-side cursor's rows
error_document(message, *, infos) -> bytes   QUERY_STATUS=ERROR document
Info(name, value, content=None)              an INFO element (QUERY, SQL, standardID…)

Modules:
    codecs     How one column's values are written: as text (TABLEDATA, CSV, TSV) and as bytes
               (BINARY/2)
    document   The parts of a VOTable 1.4 result document around the data, and the error document
    fastpath   BINARY and BINARY2 rows encoded by PostgreSQL itself: the fast path
    formats    The output formats a client may ask for with RESPONSEFORMAT (or FORMAT)
    rowlimit   MAXREC: pass at most ``maxrec`` rows on, and learn whether more existed (TAP 1.1
               §2.7.4)
    serialize  VOTable TABLEDATA, BINARY and BINARY2 serializations, streamed batch by batch
    stream     Query results from PostgreSQL to output bytes, with flat memory
    text       CSV (RFC 4180) and TSV (IANA text/tab-separated-values) output, streamed batch by
               batch
    xmltext    XML text for VOTable documents: escaping, illegal characters, element IDs
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
