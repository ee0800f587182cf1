"""The SODA parameters of one request: every spelling a client sends, and hostile values,
each refused with the SODA error label and a message that names the parameter."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.delivery.soda.errors import MultiValuedParamNotSupported, SodaError, UsageError
from catalog.delivery.soda.params import MAX_VALUE_CHARS, parse_request
from catalog.delivery.soda.shapes import Band, Circle, Polygon, Range


def test_pos_with_each_shape_and_the_separate_parameters() -> None:
    assert parse_request([("ID", "a"), ("POS", "CIRCLE 12 34 0.5")]).shape == Circle(12, 34, 0.5)
    assert parse_request([("pos", "circle 12 34 0.5")]).shape == Circle(12, 34, 0.5)
    assert parse_request([("CIRCLE", "12 34 0.5")]).shape == Circle(12, 34, 0.5)
    assert parse_request([("POS", "RANGE 12 14 34 36")]).shape == Range(12, 14, 34, 36)
    assert parse_request([("POS", "RANGE 0 360 89 +Inf")]).shape == Range(0, 360, 89, 90)
    assert parse_request([("POS", "RANGE -Inf +Inf -Inf 0")]).shape == Range(0, 360, -90, 0)
    square = ((12.0, 34.0), (14.0, 34.0), (14.0, 36.0), (12.0, 36.0))
    assert parse_request([("POS", "POLYGON 12 34 14 34 14 36 12 36")]).shape == Polygon(square)
    assert parse_request([("Polygon", "12 34 14 34 14 36 12 36")]).shape == Polygon(square)


def test_band_id_unknown_and_empty_parameters() -> None:
    request = parse_request(
        [
            ("id", " ivo://x/y?a/b.fits "),
            ("BAND", "5e-7 5.5e-7"),
            ("CALIB", "FLUX"),  # unknown: ignored (DALI)
            ("POLYGON", ""),  # an empty descriptor PARAM: absent
            ("RESPONSEFORMAT", "application/fits"),
        ]
    )
    assert request.id == "ivo://x/y?a/b.fits"
    assert request.band == Band(5e-7, 5.5e-7)
    assert request.shape is None
    assert parse_request([("BAND", "-Inf 3e-7")]).band == Band(0.0, 3e-7)
    assert parse_request([("BAND", "7.5e-7 +Inf")]).band == Band(7.5e-7, math.inf)
    assert parse_request([("BAND", "5.5e-7 5.5e-7")]).band == Band(5.5e-7, 5.5e-7)
    assert parse_request([]).describe() == "no cut"


def test_describe_speaks_soda() -> None:
    request = parse_request([("CIRCLE", "10.5 -20 0.25"), ("BAND", "1e-6 2e-6")])
    assert request.describe() == "CIRCLE 10.5 -20 0.25; BAND 1e-06 2e-06"


HOSTILE = [
    ([("CIRCLE", "nan 10 1")], UsageError, "CIRCLE: NaN is not a number"),
    ([("CIRCLE", "10 10 NaN")], UsageError, "NaN"),
    ([("POS", "CIRCLE 10 10 1e308")], UsageError, r"radius must lie in \(0, 180\]"),
    ([("POS", "CIRCLE 10 10 1e999")], UsageError, "too large a number"),
    ([("CIRCLE", "10 10 0")], UsageError, "radius"),
    ([("CIRCLE", "10 10 -1")], UsageError, "radius"),
    ([("CIRCLE", "10 10 +Inf")], UsageError, "not allowed here"),
    ([("CIRCLE", "10 95 1")], UsageError, r"Dec 95 is outside \[-90, 90\]"),
    ([("CIRCLE", "400 10 1")], UsageError, r"RA 400 is outside \[0, 360\]"),
    ([("CIRCLE", "10 10")], UsageError, "3 numbers"),
    ([("CIRCLE", "10 10 1 1")], UsageError, "3 numbers"),
    ([("CIRCLE", "1_0 10 1")], UsageError, "is not a number"),
    ([("CIRCLE", "0x10 10 1")], UsageError, "is not a number"),
    ([("CIRCLE", "١٠ 10 1")], UsageError, "is not a number"),  # Arabic-Indic digits
    ([("POS", "CIRCLE")], UsageError, "3 numbers"),
    ([("POS", "BOX 10 10 1 1")], UsageError, "POS must start with CIRCLE, RANGE or POLYGON"),
    ([("POS", "10 10 1")], UsageError, "POS must start with"),
    ([("POS", "RANGE 10 20 100 110")], UsageError, "latitude/Dec 100"),
    ([("POS", "RANGE 10 20 30 -30")], UsageError, "reversed"),
    ([("POS", "RANGE 10 20 30")], UsageError, "4 numbers"),
    ([("POLYGON", "10 10 11 11")], UsageError, "at least 3 vertices, got 2"),
    ([("POS", "POLYGON 10 10 11 11")], UsageError, "at least 3 vertices"),
    ([("POLYGON", "10 10 11 11 12")], UsageError, "pairs"),
    ([("POLYGON", "10 10 11 10 10 11 11 11")], UsageError, "edges 2 and 4 cross"),
    ([("POLYGON", "10 0 11 0 12 0")], UsageError, "no area"),
    ([("POLYGON", "10 0 12 0 12 2 11 0 10 2")], UsageError, "edges 1 and 3 cross"),  # touch
    ([("POLYGON", "10 10 10 10 11 11")], UsageError, "repeats"),
    ([("POLYGON", "0 0 120 0 240 0")], UsageError, "hemisphere"),
    ([("POLYGON", " ".join(["1 1"] * 101))], UsageError, "at most 100 vertices"),
    ([("BAND", "6e-7 5e-7")], UsageError, "reversed"),
    ([("BAND", "-2 -1")], UsageError, "positive"),
    ([("BAND", "NaN 1")], UsageError, "NaN"),
    ([("BAND", "+Inf +Inf")], UsageError, "positive"),
    ([("BAND", "1e-7")], UsageError, "2 numbers"),
    ([("CIRCLE", "1" * (MAX_VALUE_CHARS + 1))], UsageError, "characters long"),
    ([("CIRCLE", "10 " * 3400)], UsageError, "characters long"),  # a 10 kB value
    ([("X", "y")] * 101, UsageError, "too many parameters"),
    ([("TIME", "55000 55001")], UsageError, "TIME is not supported"),
    ([("POL", "I")], UsageError, "POL is not supported"),
    ([("RESPONSEFORMAT", "votable")], UsageError, "cutouts are FITS"),
    (
        [("POS", "CIRCLE 1 1 1"), ("POS", "CIRCLE 2 2 1")],
        MultiValuedParamNotSupported,
        "one spatial constraint per request",
    ),
    (
        [("CIRCLE", "1 1 1"), ("POLYGON", "1 1 2 1 2 2")],
        MultiValuedParamNotSupported,
        "got CIRCLE, POLYGON",
    ),
    ([("BAND", "1 2"), ("band", "3 4")], MultiValuedParamNotSupported, "BAND was given 2"),
    ([("ID", "a"), ("ID", "b")], MultiValuedParamNotSupported, "ID was given 2"),
    (
        [("CIRCLE", "nan 1 1"), ("BAND", "2 1"), ("POS", "RANGE 1 2 100 3")],
        MultiValuedParamNotSupported,  # several faults: the multiplicity is found first
        "one spatial constraint",
    ),
    ([("CIRCLE", "nan 1 1"), ("BAND", "2 1")], UsageError, "CIRCLE: NaN"),
]


@pytest.mark.parametrize(("items", "error", "message"), HOSTILE)
def test_hostile_parameters_are_refused_with_a_message(
    items: list[tuple[str, str]], error: type[SodaError], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        parse_request(items)
    assert str(info.value).startswith(f"{error.fault}: ")
    assert info.value.status == 400


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["POS", "CIRCLE", "POLYGON", "BAND", "ID", "pos", "TIME", "other"]),
            st.one_of(
                st.text(max_size=60),
                st.lists(
                    st.one_of(
                        st.floats(allow_nan=True, allow_infinity=True).map(repr),
                        st.sampled_from(["CIRCLE", "RANGE", "POLYGON", "-Inf", "+Inf", "nan"]),
                    ),
                    max_size=12,
                ).map(" ".join),
            ),
        ),
        max_size=4,
    )
)
def test_any_input_is_a_request_or_a_soda_error(items: list[tuple[str, str]]) -> None:
    try:
        request = parse_request(items)
    except SodaError as e:
        assert e.message
        return
    numbers: list[float] = []
    if isinstance(request.shape, Polygon):
        numbers += [c for vertex in request.shape.vertices for c in vertex]
    elif request.shape is not None:
        numbers += list(vars(request.shape).values())
    if request.band is not None:
        numbers += [request.band.low] + ([request.band.high] * (request.band.high != math.inf))
    assert all(math.isfinite(v) for v in numbers)
