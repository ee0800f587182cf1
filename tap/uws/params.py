"""The values of UWS control parameters, and the service's limits.

Requests are read by :func:`tap.form.read_form` (DALI: names case-insensitive, values as
sent) into :class:`tap.params.Params`; the values of the UWS control parameters are checked
here, and a bad one raises :class:`~tap.uws.errors.JobRequestError` whose message says what
is expected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tap.form import FormLimits
from tap.uws.errors import JobRequestError
from tap.uws.jobs import PHASES, format_time, utc_now

INT32_MAX = 2**31 - 1


def shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (clients send anything)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text):,} chars)"


def parameters_size(params: Mapping[str, Sequence[str]]) -> int:
    """Bytes (UTF-8) of the names and values of ``params``, as the parameter limit counts."""

    def size(text: str) -> int:
        return len(text.encode("utf-8", "surrogatepass"))

    return sum(size(name) + sum(map(size, values)) for name, values in params.items())


def parameters_too_large(limit: int) -> str:
    return (
        f"The job's parameters would exceed the limit of {limit:,} bytes (names and values "
        "together); send shorter parameters (tables go in UPLOAD, as files)."
    )


def parse_time(name: str, text: str) -> dt.datetime:
    """An ISO 8601 date or date-time, in UTC; without a zone it is UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise JobRequestError(
            f"{name}={shown(text)} is not an ISO 8601 date-time; write it like "
            f"{format_time(utc_now())} (UTC)."
        ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise JobRequestError(
            f"{name}={shown(text)} is out of range in UTC; give a date-time between years 1 "
            "and 9999 (UTC)."
        ) from None


def parse_int(name: str, text: str, *, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(text.strip())
    except ValueError:  # also for numbers of more than 4,300 digits
        raise JobRequestError(f"{name}={shown(text)} is not an integer.") from None
    if value < minimum:
        raise JobRequestError(
            f"{name}={shown(str(value))} is too small: it must be at least {minimum}."
        )
    if maximum is not None and value > maximum:
        raise JobRequestError(
            f"{name}={shown(str(value))} is too large: it must be at most {maximum}."
        )
    return value


def parse_phases(values: Sequence[str]) -> list[str]:
    """The PHASE filter of the job list (repeatable)."""
    phases = []
    for value in values:
        phase = value.strip().upper()
        if phase not in PHASES:
            raise JobRequestError(
                f"PHASE={shown(value)} is not a UWS phase; use one of {', '.join(PHASES)}."
            )
        phases.append(phase)
    return phases


@dataclass(frozen=True)
class UwsLimits:
    """The service's limits; declare them in capabilities (:meth:`tapregext`).

    Execution durations are seconds, 0 meaning unlimited. A requested duration above
    ``max_execution_duration`` (or 0, when the maximum is not 0) is capped to it.
    Destruction: jobs and results are destroyed ``default_destruction`` after creation,
    and never kept longer than ``max_destruction`` from the request that sets it.
    ``max_wait``: how long a ``WAIT`` (also ``WAIT=-1``) blocks at most, in seconds.
    ``upload_limit``: bytes of inline uploads per request. ``parameter_limit``: bytes (UTF-8)
    of a job's parameter names and values together, and of any one form field
    (:meth:`form`).
    """

    default_execution_duration: int = 600
    max_execution_duration: int = 3600
    default_destruction: dt.timedelta = dt.timedelta(days=7)
    max_destruction: dt.timedelta = dt.timedelta(days=30)
    max_wait: int = 60
    job_list_limit: int = 1000
    upload_limit: int = 100 * 1024 * 1024
    parameter_limit: int = 512 * 1024  # the longest ADQL query (100,000 characters) fits

    def form(self) -> FormLimits:
        """The bounds of reading a request's parameters (:func:`tap.form.read_form`)."""
        return FormLimits(upload_bytes=self.upload_limit, field_bytes=self.parameter_limit)

    def execution_duration(self, requested: int | None) -> int:
        if requested is None:
            return self.default_execution_duration
        if self.max_execution_duration and (
            requested == 0 or requested > self.max_execution_duration
        ):
            return self.max_execution_duration
        return requested

    def destruction(
        self, requested: dt.datetime | None, now: dt.datetime | None = None
    ) -> dt.datetime:
        now = now or utc_now()
        if requested is None:
            return now + self.default_destruction
        return min(requested, now + self.max_destruction)

    def wait_seconds(self, requested: int) -> float:
        return float(self.max_wait if requested < 0 else min(requested, self.max_wait))

    def tapregext(self) -> str:
        """The ``retentionPeriod`` and ``executionDuration`` elements of a TAPRegExt
        ``tr:TableAccess`` capability, in the schema's order; ``outputLimit`` follows them,
        then :meth:`tapregext_upload`."""
        default_s = int(self.default_destruction.total_seconds())
        hard_s = int(self.max_destruction.total_seconds())
        return (
            f"<retentionPeriod><default>{default_s}</default><hard>{hard_s}</hard>"
            "</retentionPeriod>"
            f"<executionDuration><default>{self.default_execution_duration}</default>"
            f"<hard>{self.max_execution_duration}</hard></executionDuration>"
        )

    def tapregext_upload(self) -> str:
        """The ``uploadLimit`` element (bytes of inline uploads per request)."""
        return (
            f'<uploadLimit><default unit="byte">{self.upload_limit}</default>'
            f'<hard unit="byte">{self.upload_limit}</hard></uploadLimit>'
        )
