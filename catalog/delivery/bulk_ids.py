"""The IDs of a bulk request, however they come, bounded in size and count.

- ``ID`` parameters (repeatable; DALI: the name in any case) in the query string, or in a
  POSTed form (``application/x-www-form-urlencoded`` or ``multipart/form-data``);
- a TAP result POSTed as the body (a VOTable: ``application/x-votable+xml``, ``text/xml``…;
  CSV: ``text/csv``) or as a file of a multipart form: the ``obs_publisher_did`` column is
  read, else ``access_url``, else ``ID`` (the VOTable with astropy.io.votable on a worker
  thread, CSV with :mod:`csv`);
- a plain-text body (``text/plain``): one ID a line.

An ID is a publisher DID (``ivo://…?<hlsp_id>/<file name>``), a catalog key
(``<hlsp_id>/<file name>``) or an access URL of this server (``…/files/<hlsp_id>/<name>``,
percent-encoded): :func:`key_of` turns each into a key. Bodies past ``max_body`` bytes and
requests of more than ``max_ids`` IDs are refused (413), unreadable ones too (400, 415), each
with a message saying what to send instead.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request

from catalog.delivery.lookup import MAX_KEY_CHARS, parse_key

COLUMNS = ("obs_publisher_did", "access_url", "id")  # read from a table, first found
VOTABLE_TYPES = {
    "application/x-votable+xml",
    "application/votable+xml",
    "text/xml",
    "application/xml",
}
CSV_TYPES = {"text/csv", "application/csv"}
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class BadRequest(Exception):
    """A bulk request that cannot be served as sent: ``status`` and a message saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class BulkRequest:
    """The IDs of a request (as given, repeats dropped, order kept) and its other
    parameters (names in upper case: ``FORMAT``)."""

    ids: list[str]
    params: dict[str, str]


def key_of(value: str) -> str | None:
    """The catalog key an ID names (DID, key or access URL), None when it names none."""
    value = value.strip()
    if value.startswith(("http://", "https://")):
        if len(value) > 4 * MAX_KEY_CHARS:
            return None
        parts = urlsplit(value).path.split("/")
        if len(parts) < 3 or parts[-3] != "files":
            return None
        try:
            hlsp_id = unquote(parts[-2], errors="strict")
            name = unquote(parts[-1], errors="strict")
        except UnicodeDecodeError:
            return None
        if "/" in hlsp_id or "/" in name:  # an encoded slash: never a catalog name
            return None
        return parse_key(f"{hlsp_id}/{name}")
    return parse_key(value)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def _body(request: Request, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise BadRequest(413, _too_big(max_body))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(max_body: int) -> str:
    return (
        f"The request body is larger than a bulk request may be ({max_body:,} bytes). "
        "Send fewer IDs, or only the obs_publisher_did column of the TAP result."
    )


class _Collector:
    def __init__(self, max_ids: int) -> None:
        self.max_ids = max_ids
        self.ids: dict[str, None] = {}
        self.params: dict[str, str] = {}

    def add(self, values: Iterable[str]) -> None:
        for raw in values:
            value = raw.strip()
            if not value:
                continue
            self.ids[value] = None
            if len(self.ids) > self.max_ids:
                raise BadRequest(
                    413,
                    f"A bulk request may name at most {self.max_ids:,} files; split the list "
                    "into several requests.",
                )

    def fields(self, pairs: Iterable[tuple[str, str]]) -> None:
        for name, value in pairs:
            upper = name.upper()
            if upper == "ID":
                self.add([value])
            else:
                self.params.setdefault(upper, value)

    def result(self) -> BulkRequest:
        return BulkRequest(list(self.ids), self.params)


async def read_request(request: Request, *, max_ids: int, max_body: int) -> BulkRequest:
    """The IDs and parameters of a GET or POST bulk request (see the module docstring)."""
    found = _Collector(max_ids)
    found.fields(request.query_params.multi_items())
    if request.method != "POST":
        return found.result()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise BadRequest(413, _too_big(max_body))
    media = _media_type(request)
    if media == MULTIPART:
        await _multipart(request, found, max_body)
        return found.result()
    body = await _body(request, max_body)
    if not body.strip():
        return found.result()
    if media == FORM:
        if body.count(b"&") > max_ids + 100:
            raise BadRequest(413, f"A bulk request may name at most {max_ids:,} files.")
        found.fields(await run_in_threadpool(parse_qsl, _text(body), max_num_fields=max_ids + 101))
    elif media in VOTABLE_TYPES or media in CSV_TYPES:
        found.add(await run_in_threadpool(ids_from_table, body, media, max_ids))
    elif media == "text/plain":
        found.add(await run_in_threadpool(_lines, body, max_ids))
    else:
        raise BadRequest(
            415,
            f"A bulk request body cannot be {media or 'untyped'}: send a form (ID=...), a "
            "TAP result (VOTable: application/x-votable+xml; CSV: text/csv), or text/plain, "
            "one ID a line.",
        )
    return found.result()


async def _multipart(request: Request, found: _Collector, max_body: int) -> None:
    try:
        form = await request.form(
            max_files=4, max_fields=found.max_ids + 100, max_part_size=max_body
        )
    except Exception as error:  # starlette's MultiPartException, a malformed body
        raise BadRequest(400, f"The multipart form cannot be read: {error}") from None
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(max_body + 1)
                if len(data) > max_body:
                    raise BadRequest(413, _too_big(max_body))
                media = (value.content_type or "").partition(";")[0].strip().lower()
                if media not in VOTABLE_TYPES | CSV_TYPES:
                    media = _sniff(data, value.filename or "")
                found.add(await run_in_threadpool(ids_from_table, data, media, found.max_ids))
            else:
                found.fields([(name, value)])
    finally:
        await form.close()


def _lines(body: bytes, max_ids: int) -> list[str]:
    """The distinct non-blank lines of a text body, at most one more than ``max_ids`` (so the
    collector refuses the request): never a list of every line of a hostile body."""
    seen: dict[str, None] = {}
    for match in re.finditer(r"[^\r\n]+", _text(body)):
        line = match.group().strip()
        if line:
            seen[line] = None
            if len(seen) > max_ids:
                break
    return list(seen)


def _sniff(data: bytes, file_name: str) -> str:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or file_name.lower().endswith((".xml", ".vot", ".votable")):
        return "application/x-votable+xml"
    return "text/csv"


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(400, "The request body is not UTF-8 text.") from None


def _column(names: Sequence[str], what: str) -> int:
    lowered = [n.strip().lower() for n in names]
    for wanted in COLUMNS:
        if wanted in lowered:
            return lowered.index(wanted)
    shown = ", ".join(names[:20]) or "none"
    raise BadRequest(
        400,
        f"The {what} has no obs_publisher_did or access_url column (its columns: {shown}); "
        "select one of them in the TAP query.",
    )


def ids_from_table(data: bytes, media: str, max_ids: int) -> list[str]:
    """The IDs of a TAP result (VOTable or CSV): its ID column, read on a worker thread."""
    if media in CSV_TYPES:
        return _ids_from_csv(data, max_ids)
    return _ids_from_votable(data, max_ids)


def _ids_from_csv(data: bytes, max_ids: int) -> list[str]:
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    try:
        header = next(reader, [])
        at = _column(header, "CSV table")
        ids: list[str] = []
        for row in reader:
            if len(ids) >= max_ids:
                raise BadRequest(413, f"The table has more than {max_ids:,} rows.")
            if at < len(row) and row[at].strip():
                ids.append(row[at])
    except csv.Error as error:
        raise BadRequest(400, f"The CSV table cannot be read: {error}") from None
    return ids


def _ids_from_votable(data: bytes, max_ids: int) -> list[str]:
    from astropy.io.votable import parse  # import on use: astropy is slow to import

    if data.count(b"<TR") > max_ids:  # TABLEDATA rows, counted before astropy builds them
        raise BadRequest(413, f"The table has more than {max_ids:,} rows.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = parse(io.BytesIO(data), verify="ignore").get_first_table()
            array = table.array
    except BadRequest:
        raise
    except Exception as error:  # astropy raises many kinds for malformed documents
        text = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise BadRequest(400, f"The body cannot be read as a VOTable table: {text}") from None
    names = list(array.dtype.names or ())
    column = names[_column(names, "VOTable")]
    if len(array) > max_ids:
        raise BadRequest(413, f"The table has {len(array):,} rows, more than {max_ids:,}.")
    ids: list[str] = []
    values = array[column]
    mask = getattr(values, "mask", None)
    for i, value in enumerate(values.data if mask is not None else values):
        if mask is not None and bool(mask[i]):
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if text.strip():
            ids.append(text)
    return ids
