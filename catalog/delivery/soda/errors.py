"""The errors of the SODA service, each with the error label its answer starts with.

SODA 1.0 §5.2 fixes the labels a ``text/plain`` error document begins with (``Error``,
``UsageError``, ``ServiceUnavailable``, ``MultiValuedParamNotSupported``…); each class here
carries its ``fault`` (that label) and the HTTP ``status`` the endpoint answers with:

    SodaError                       base class: fault "Error"
    ├── UsageError                  a parameter is malformed, out of range, or does not apply
    │                               to the product (400; retrying is pointless)
    ├── MultiValuedParamNotSupported  a parameter given more than once, or several spatial
    │                               constraints in one synchronous request (400)
    ├── SodaNotFound                no product the caller may see has that ID (404; the label
    │                               is UsageError: SODA defines none for an unknown ID)
    ├── NoOverlap                   the cut holds no pixel of the product: SODA 1.0 §5.1 answers
    │                               204 No Content, without a body (the message goes in the
    │                               ``SODA-Message`` header)
    ├── ProductUnreadable           the product's file cannot be read as FITS (422)
    └── ServiceUnavailable          too many cuts at once, or one ran out of time (503 with
                                    Retry-After)
"""

from __future__ import annotations


class SodaError(Exception):
    """A SODA request that cannot be answered with data; ``str()`` is the error document."""

    fault = "Error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def document(self) -> str:
        """The text/plain error document: the SODA label, a colon and the message."""
        return f"{self.fault}: {self.message}\n"

    def __str__(self) -> str:
        return f"{self.fault}: {self.message}"


class UsageError(SodaError):
    fault = "UsageError"
    status = 400


class MultiValuedParamNotSupported(SodaError):
    fault = "MultiValuedParamNotSupported"
    status = 400


class SodaNotFound(SodaError):
    """Raised by the endpoint's resolver for an ID that names no product the caller may see
    (unknown, unpublished or hidden alike, so that the answer says nothing of hidden ones)."""

    fault = "UsageError"
    status = 404


class NoOverlap(SodaError):
    fault = "NoOverlap"
    status = 204


class ProductUnreadable(SodaError):
    status = 422


class ServiceUnavailable(SodaError):
    fault = "ServiceUnavailable"
    status = 503
