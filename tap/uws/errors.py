"""Errors of the job system, each a :class:`tap.errors.JobError` with its own stable code.

    JobError (TAP-E500)
    ├── JobNotFound        (TAP-E501)  no such job (deleted, destroyed, never was) -> 404
    ├── JobPhaseError      (TAP-E502)  the request is not allowed in this phase   -> 403
    ├── JobRequestError    (TAP-E503)  a UWS parameter has a bad value            -> 400
    ├── JobTooLarge        (TAP-E504)  inline uploads exceed the upload limit     -> 413
    ├── JobStoreUnavailable(TAP-E505)  the job database cannot be reached         -> 503
    ├── JobForbidden       (TAP-E507)  the job belongs to another user            -> 403
    └── ParametersTooLarge (TAP-E508)  a job's parameters over the limit          -> 413

Messages say what was wrong and what to do; the HTTP layer sends them as text/plain, and
so it does a request whose parameters cannot be read (:class:`tap.errors.FormError`, 400,
or :class:`tap.errors.FormTooLarge`, 413).

Codes that appear only in a job's error summary: the executor's :class:`TapError` code;
``TAP-E401`` (QueryTimeout) when the execution duration ran out; ``TAP-E506`` when the
server process running the job died or shut down; ``TAP-E000`` for an internal error.
"""

from __future__ import annotations

from tap.errors import JobError


class HttpJobError(JobError):
    """A job request the HTTP layer answers with ``status`` and the message."""

    status = 400


class JobNotFound(HttpJobError):
    code = "TAP-E501"
    status = 404


class JobPhaseError(HttpJobError):
    code = "TAP-E502"
    status = 403


class JobRequestError(HttpJobError):
    code = "TAP-E503"
    status = 400


class JobTooLarge(HttpJobError):
    code = "TAP-E504"
    status = 413


class JobStoreUnavailable(HttpJobError):
    code = "TAP-E505"
    status = 503


class JobForbidden(HttpJobError):
    code = "TAP-E507"
    status = 403


class ParametersTooLarge(HttpJobError):
    code = "TAP-E508"
    status = 413
