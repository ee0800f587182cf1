"""All the uploads of one request, read under limits that hold for the request as a whole.

:func:`read_uploads` turns the UPLOAD pairs of a query into tables, under ``TapConfig``'s
per-request limits (TAPRegExt's ``uploadLimit`` is per request):

- at most ``upload_tables`` tables;
- at most ``upload_bytes`` bytes in all: inline parts are counted first, then each fetched
  URL may read only what is left;
- at most ``upload_rows`` rows in all: each table may hold only what the tables before it
  left;
- one :class:`~tap.upload.fetch.Deadline` of ``upload_timeout`` seconds for every URL
  fetch, fetched from public addresses or ``upload_allow`` only.

So a request holds at most ``upload_bytes`` of documents and ``upload_rows`` decoded rows in
memory, however many tables it names. Every refusal is an :class:`~tap.errors.UploadError`
that names the table and the limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tap.config import TapConfig
from tap.errors import UploadError
from tap.upload.fetch import Deadline, FetchPolicy, OverLimit, fetch_url
from tap.upload.param import UploadSpec
from tap.upload.reader import UploadedTable, read_upload


def read_uploads(
    specs: Sequence[UploadSpec],
    parts: Mapping[str, bytes],
    config: TapConfig,
    *,
    policy: FetchPolicy | None = None,
) -> tuple[tuple[str, UploadedTable], ...]:
    """``(name, table)`` for each UPLOAD pair, read from ``parts`` or fetched.

    ``policy`` replaces the fetch policy made from ``config`` (tests: a resolver hook).
    """
    if not specs:
        return ()
    if len(specs) > config.upload_tables:
        raise UploadError(
            f"UPLOAD names {len(specs)} tables; this service takes at most "
            f"{config.upload_tables} per request: combine them into fewer tables."
        )
    limit = config.upload_bytes
    for spec in specs:
        if spec.part is not None and spec.part not in parts:
            known = ", ".join(sorted(parts)) or "none"
            raise UploadError(
                f"UPLOAD {spec.name}: the request has no part named {spec.part!r} (parts: "
                f"{known}); send the table as a multipart/form-data part of that name."
            )
    inline = sum(len(parts[s.part]) for s in specs if s.part is not None)
    if inline > limit:
        raise UploadError(
            f"the uploaded tables hold {inline:,} bytes, over the limit of {limit:,} bytes "
            "for all the uploads of one request together; upload fewer rows or columns."
        )
    bytes_left = limit - inline
    rows_left = config.upload_rows
    too_many_rows = (
        f"the uploads of this request hold more than {config.upload_rows:,} rows, the limit "
        "for all its tables together; upload fewer rows."
    )
    deadline = Deadline(config.upload_timeout)
    policy = policy or FetchPolicy(allow=config.upload_allow)
    tables: list[tuple[str, UploadedTable]] = []
    for spec in specs:
        if spec.part is not None:
            data = parts[spec.part]
        else:
            data = _fetch(spec, bytes_left, limit, deadline, policy)
            bytes_left -= len(data)
        table = read_upload(
            data, max_bytes=limit, max_rows=rows_left, label=spec.name, too_many_rows=too_many_rows
        )
        del data
        rows_left -= len(table.rows)
        tables.append((spec.name, table))
    return tuple(tables)


def _fetch(
    spec: UploadSpec, bytes_left: int, limit: int, deadline: Deadline, policy: FetchPolicy
) -> bytes:
    try:
        return fetch_url(spec.uri, max_bytes=bytes_left, deadline=deadline, policy=policy)
    except OverLimit:
        raise UploadError(
            f"UPLOAD {spec.name}: the table at {spec.uri} takes the uploads of this request "
            f"over {limit:,} bytes, the limit for all of them together; upload fewer rows or "
            "columns."
        ) from None
    except UploadError as exc:
        raise UploadError(f"UPLOAD {spec.name}: {exc.message}") from None
