"""File names that would mislead a client through Content-Disposition: percent signs that
some clients decode in ``filename`` (RFC 6266 appendix D), and invisible Unicode controls
(a right-to-left override makes ``report_\u202etxt.exe`` show as ``report_exe.txt``)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from catalog.delivery.http import content_disposition


def _params(header: str) -> dict[str, str]:
    pairs: list[tuple[str, str]] = re.findall(r';\s*([a-z*]+)=("[^"]*"|[^;]*)', header)
    return dict(pairs)


@pytest.mark.parametrize("name", ["a%2e%2e%2fb.txt", "spec%20trum.fits", "100%.txt", "%C3%A9.fits"])
def test_a_percent_sign_is_never_in_the_plain_filename(name: str) -> None:
    params = _params(content_disposition(name, "text/plain"))
    assert "%" not in params["filename"]
    assert unquote(params["filename*"].removeprefix("UTF-8''")) == name


@pytest.mark.parametrize(
    "name",
    [
        "report_\u202etxt.exe",  # RIGHT-TO-LEFT OVERRIDE
        "a\u2066b\u2069.fits",  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE
        "zero\u200bwidth.fits",  # ZERO WIDTH SPACE
        "x\u200f.fits",  # RIGHT-TO-LEFT MARK
    ],
)
def test_invisible_format_characters_never_reach_the_client(name: str) -> None:
    header = content_disposition(name, "application/fits")
    suggested = unquote(_params(header)["filename*"].removeprefix("UTF-8''"))
    assert all(c not in suggested for c in "\u202e\u2066\u2069\u200b\u200f"), suggested
    assert len(suggested) == len(name)  # each replaced, none dropped


def test_plain_names_are_left_alone() -> None:
    assert content_disposition("hlsp_x_v1_drc.fits", "application/fits") == (
        'attachment; filename="hlsp_x_v1_drc.fits"'
    )
    header = content_disposition("unié.fits", "application/fits")
    assert unquote(_params(header)["filename*"].removeprefix("UTF-8''")) == "unié.fits"
