"""The TAP package's exceptions, with stable machine codes.

    TapError                    base; ``code`` is stable, ``message`` says what to do
    ├── UsageError              a bad request parameter (LANG, FORMAT, MAXREC, UPLOAD…)
    │   └── FormError           the request's parameters could not be read (:mod:`tap.form`)
    │       └── FormTooLarge    a form field or the request body is over its limit
    ├── AdqlError               the query is not valid ADQL, or names what is not published
    │   └── AdqlSyntaxError     with ``line``/``column`` of the offending token
    ├── UploadError             an uploaded table could not be read or is too large
    ├── QueryError              the database refused or failed the translated query
    │   └── QueryTimeout        the execution duration was exceeded
    ├── Unavailable             the database cannot be reached or the service is overloaded:
    │                           try again later (HTTP 503, never the client's fault)
    └── JobError                a UWS request that the job's state does not allow

Every error a client can cause ends as a VOTable error document (sync) or a job in the
ERROR phase (async) whose message is :attr:`TapError.message`; never as an HTTP 500. A
request to ``/async`` whose parameters cannot be read gets the :class:`FormError`'s
``status`` (400, or 413 for :class:`FormTooLarge`) and its message as text/plain.
"""

from __future__ import annotations


class TapError(Exception):
    code = "TAP-E000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(TapError):
    code = "TAP-E100"


class FormError(UsageError):
    code = "TAP-E101"
    status = 400


class FormTooLarge(FormError):
    code = "TAP-E102"
    status = 413


class AdqlError(TapError):
    code = "TAP-E200"


class AdqlSyntaxError(AdqlError):
    code = "TAP-E201"

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.line = line
        self.column = column


class UploadError(TapError):
    code = "TAP-E300"


class QueryError(TapError):
    code = "TAP-E400"


class QueryTimeout(QueryError):
    code = "TAP-E401"


class Unavailable(TapError):
    code = "TAP-E600"


class JobError(TapError):
    code = "TAP-E500"
