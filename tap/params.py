"""DALI request parameters: case-insensitive names, validated only when a query runs.

A request's parameters come from the query string and the form body (urlencoded or
multipart), read by :mod:`tap.form` for ``/sync`` and ``/async`` alike; multipart file parts
are kept apart as upload sources (``param:`` URIs).
Spurious parameters are kept and ignored; ``REQUEST`` is ignored (pyvo sends
``REQUEST=doQuery``). :func:`query_request` checks what a query needs and says what is
wrong in terms a user can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tap.config import TapConfig
from tap.errors import UsageError
from tap.upload import UploadSpec, parse_upload_param

LANGUAGES = ("ADQL", "ADQL-2.0", "ADQL-2.1")


class Params:
    """A request's parameters (DALI §3.1): names case-insensitive, values as sent, repeatable.

    Names are kept lower-cased (as a UWS job stores them), each with its values in the order
    they came. Read by :func:`tap.form.read_form` for ``/sync`` and ``/async`` alike.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Sequence[str]]) -> Params:
        """Parameters from name -> values (a stored job's)."""
        return cls((name, value) for name, values in mapping.items() for value in values)

    def add(self, name: str, value: str) -> None:
        self._values.setdefault(name.lower(), []).append(value)

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name``."""
        self._values[name.lower()] = [value]

    def all(self, name: str) -> list[str]:
        """Every value of ``name``, in order (none: an empty list)."""
        return list(self._values.get(name.lower(), ()))

    def get(self, name: str) -> str | None:
        """The single value of a single-valued parameter; an error if given twice."""
        values = self._values.get(name.lower())
        if not values:
            return None
        if len(values) > 1 and len(set(values)) > 1:
            raise UsageError(f"parameter {name} was given {len(values)} times; give it once")
        return values[0]

    def last(self, name: str) -> str | None:
        """The last value of ``name`` (UWS: a repeated control parameter takes the last)."""
        values = self._values.get(name.lower())
        return values[-1] if values else None

    def items(self) -> list[tuple[str, str]]:
        """Every (lower-cased name, value) pair, grouped by name."""
        return [(k, v) for k, vs in self._values.items() for v in vs]

    def grouped(self) -> dict[str, list[str]]:
        """Lower-cased name -> values (a copy)."""
        return {name: list(values) for name, values in self._values.items()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


@dataclass(frozen=True)
class QueryRequest:
    query: str
    lang: str
    maxrec: int
    response_format: str | None
    uploads: tuple[UploadSpec, ...]
    run_id: str | None


def _maxrec(value: str | None, config: TapConfig) -> int:
    if value is None or value.strip() == "":
        return config.maxrec_default
    try:
        maxrec = int(value.strip())
    except ValueError:
        raise UsageError(f"MAXREC must be a non-negative integer, not {value!r}") from None
    if maxrec < 0:
        raise UsageError(f"MAXREC must be a non-negative integer, not {value!r}")
    return min(maxrec, config.maxrec_hard)


def query_request(params: Params, config: TapConfig) -> QueryRequest:
    """Validate what a query needs (at execution time, per TAP 1.1 §2.7)."""
    lang = params.get("LANG")
    if lang is None or not lang.strip():
        raise UsageError("the LANG parameter is missing: send LANG=ADQL")
    if lang.strip().upper() not in LANGUAGES:
        raise UsageError(
            f"unknown query language {lang!r}: this service supports {', '.join(LANGUAGES)}"
        )
    query = params.get("QUERY")
    if query is None or not query.strip():
        raise UsageError("the QUERY parameter is missing or empty: send an ADQL query")
    formats = [v for name in ("RESPONSEFORMAT", "FORMAT") for v in params.all(name)]
    if len(set(formats)) > 1:
        raise UsageError("RESPONSEFORMAT/FORMAT was given more than once with different values")
    run_id = params.get("RUNID")
    if run_id is not None and len(run_id) > 64:
        raise UsageError("RUNID is limited to 64 characters")
    return QueryRequest(
        query=query,
        lang=lang.strip().upper(),
        maxrec=_maxrec(params.get("MAXREC"), config),
        response_format=formats[0].strip() if formats else None,
        uploads=tuple(parse_upload_param(params.all("UPLOAD"))),
        run_id=run_id,
    )
