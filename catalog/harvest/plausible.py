"""Plausible times and exposures: the one range the harvest keeps, whatever keyword a value
came from.

A time is an MJD between the years 1000 and 3000 (MJD -313,698 to 416,787). The oldest
astronomical records an HLSP may catalogue (photographic plates from the 1850s, historical
observations such as SN 1006) lie well inside, and so does any far-future simulation or
ephemeris; outside lie the mistakes: a JD written as an MJD (2.4 million days is the year
8400), seconds taken for days, placeholders such as -1E20 or 1E300. An exposure is between
0 and 100 years of seconds (3.2E9 s): a century of plates holds far less open-shutter time.
NaN and infinities are neither.

Extraction (``extract.time_of``, ``extract.exposure_of``, the PROVENANCE rows) treats a
value outside as absent, so the next convention may still give the time, and reports it
(finding HLSP-K015); the rules report the MJD and duration keywords by the same range; the
loader's ``sanitize`` keeps the catalog to it for records made any other way.
"""

from __future__ import annotations

from typing import Final

MJD_MIN: Final = -313_698.0  # 1000-01-01T00:00
MJD_MAX: Final = 416_787.0  # 3000-01-01T00:00
EXPOSURE_MAX: Final = 100 * 365.25 * 86_400.0  # seconds in a century
TIME_RANGE: Final = "a time between the years 1000 and 3000 (MJD -313,698 to 416,787)"
EXPOSURE_RANGE: Final = "an exposure between 0 and 100 years (3.16E9 s)"


def is_mjd(value: float) -> bool:
    """A plausible time, as an MJD (False for NaN and infinities)."""
    return MJD_MIN <= value <= MJD_MAX


def is_exposure(value: float) -> bool:
    """A plausible exposure, in seconds (False for NaN and infinities)."""
    return 0.0 <= value <= EXPOSURE_MAX
