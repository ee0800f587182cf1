"""DALI request parameters: case-insensitive names, validated only when a query runs.

A request's parameters come from the query string and the form body (urlencoded or
multipart); multipart file parts are kept apart as upload sources (``param:`` URIs).
Spurious parameters are kept and ignored; ``REQUEST`` is ignored (pyvo sends
``REQUEST=doQuery``). :func:`query_request` checks what a query needs and says what is
wrong in terms a user can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tap.config import TapConfig
from tap.errors import UsageError
from tap.upload import UploadSpec, parse_upload_param

LANGUAGES = ("ADQL", "ADQL-2.0", "ADQL-2.1")


class Params:
    """Multi-valued parameters with case-insensitive names (DALI §3.1)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self._values.setdefault(name.upper(), []).append(value)

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` (async /parameters POSTs replace, not add)."""
        self._values[name.upper()] = [value]

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name.upper(), ()))

    def get(self, name: str) -> str | None:
        """The single value of a single-valued parameter; an error if given twice."""
        values = self._values.get(name.upper())
        if not values:
            return None
        if len(values) > 1 and len(set(values)) > 1:
            raise UsageError(f"parameter {name} was given {len(values)} times; give it once")
        return values[0]

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, vs in self._values.items() for v in vs]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._values


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


def from_mapping(mapping: Mapping[str, list[str]]) -> Params:
    return Params((k, v) for k, vs in mapping.items() for v in vs)
