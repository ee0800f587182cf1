"""The regions' geometry and their pixel boxes: every pixel whose centre lies in a region is
in the box found for it (checked pixel by pixel against random regions on a rotated image),
and a region that holds no pixel centre and misses the image gives no box."""

from __future__ import annotations

import numpy as np
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.delivery.soda.pixels import sky_box
from catalog.delivery.soda.shapes import Circle, Polygon, Range, Shape

N = 24  # pixels a side
SCALE = 0.01  # degrees a pixel


def image_wcs(ra: float, dec: float, rotation: float) -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [N / 2 + 0.5, N / 2 + 0.5]
    wcs.wcs.cdelt = [-SCALE, SCALE]
    c, s = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
    wcs.wcs.pc = [[c, -s], [s, c]]
    return wcs


def test_containment_of_each_shape() -> None:
    ra, dec = np.array([10.0, 10.0, 359.5, 0.5, 180.0]), np.array([20.0, 20.6, 0.0, 0.0, 89.9])
    assert Circle(10, 20, 0.5).contains(ra, dec).tolist() == [True, False, False, False, False]
    assert Circle(0, 90, 0.2).contains(ra, dec).tolist() == [False, False, False, False, True]
    wrap = Range(359, 1, -1, 1)  # wraps through RA 0
    assert wrap.contains(ra, dec).tolist() == [False, False, True, True, False]
    assert Range(0, 360, -90, 90).contains(ra, dec).all()
    square = [(9.0, 19.0), (11.0, 19.0), (11.0, 21.0), (9.0, 21.0)]
    for vertices in (square, square[::-1]):  # either orientation: the smaller region
        inside = Polygon(tuple(vertices)).contains(ra, dec)
        assert inside.tolist() == [True, True, False, False, False]


def test_a_polygon_far_from_the_points_contains_none() -> None:
    square = Polygon(((9.0, 19.0), (11.0, 19.0), (11.0, 21.0), (9.0, 21.0)))
    assert not square.contains(np.array([190.0]), np.array([-20.0])).any()  # antipode


def shapes(ra: float, dec: float) -> st.SearchStrategy[Shape]:
    offset = st.floats(-0.4, 0.4)
    size = st.floats(0.001, 0.5)
    circles = st.builds(
        lambda dx, dy, r: Circle((ra + dx) % 360, dec + dy, r), offset, offset, size
    )
    ranges = st.builds(
        lambda dx, dy, w, h: Range((ra + dx) % 360, (ra + dx + w) % 360, dec + dy, dec + dy + h),
        offset,
        offset,
        size,
        size,
    )
    triangles = st.builds(
        lambda dx, dy, a, b: Polygon(
            (
                ((ra + dx) % 360, dec + dy),
                ((ra + dx + a) % 360, dec + dy),
                ((ra + dx) % 360, dec + dy + b),
            )
        ),
        offset,
        offset,
        size,
        size,
    )
    return st.one_of(circles, ranges, triangles)


@settings(max_examples=150, deadline=None)
@given(
    st.floats(0, 359.9),
    st.floats(-60, 60),
    st.floats(0, 360),
    st.data(),
)
def test_every_pixel_in_the_region_is_in_its_box(
    ra: float, dec: float, rotation: float, data: st.DataObject
) -> None:
    shape = data.draw(shapes(ra, dec))
    wcs = image_wcs(ra, dec, rotation)
    y, x = np.mgrid[0:N, 0:N]
    world_ra, world_dec = wcs.pixel_to_world_values(x.ravel(), y.ravel())
    inside = shape.contains(np.asarray(world_ra) % 360, np.asarray(world_dec)).reshape(N, N)
    box = sky_box(wcs, shape, (N, N))
    if box is None:
        assert not inside.any()
        return
    (x0, x1), (y0, y1) = box[0], box[1]
    assert 0 <= x0 <= x1 < N and 0 <= y0 <= y1 < N
    rows, columns = np.nonzero(inside)
    assert (columns >= x0).all() and (columns <= x1).all()
    assert (rows >= y0).all() and (rows <= y1).all()
