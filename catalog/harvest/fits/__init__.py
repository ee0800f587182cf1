"""The FITS header reader, shared by the checker and the harvester (no database).

Modules:
    reader       read the header blocks of every HDU (plain or gzip) without loading data
    cards        parse card images into (keyword, value, comment) as astropy does
    table        read a few columns of a small binary table (wavelengths, PROVENANCE rows)
    skywcs       celestial and spectral WCS: image corners on the sky, spectral ranges
"""
