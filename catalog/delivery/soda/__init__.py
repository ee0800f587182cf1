"""SODA 1.0 synchronous cutouts: POS (CIRCLE, RANGE, POLYGON) and BAND on images, cubes and
spectra, answered as FITS.

Modules:
    errors      the SODA error labels and HTTP statuses (UsageError, NoOverlap, …)
    shapes      the ICRS regions and the wavelength band a request cuts by, their geometry
    params      parse and check one request's parameters into a SodaRequest
    pixels      from a region or band to pixel ranges with astropy's WCS; moving the WCS
    spectra     BAND cutouts of spectra stored as FITS tables (x1d arrays, sample rows)
    cutout      cut(): one file, one request, a temporary FITS file
    descriptor  the input parameters a DataLink #cutout service descriptor declares
    endpoint    the Starlette endpoint for /soda/sync (GET and POST)
"""
