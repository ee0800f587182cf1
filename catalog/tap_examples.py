"""Example ADQL queries shown at ``/tap/examples`` (and in TOPCAT's "Service-provided" menu).

Each one answers a question HLSP users ask; the test suite runs every one of them.
"""

from __future__ import annotations

from tap import Example

EXAMPLES = (
    Example(
        "cone-search",
        "Cone search over every HLSP",
        "SELECT obs_id, provenance_name, dataproduct_type, target_name, s_ra, s_dec,\n"
        "       access_url\n"
        "FROM ivoa.ObsCore\n"
        "WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.82, -5.39, 0.5)) = 1",
        "Products of all collections within 0.5° of a position (here the Orion Nebula).",
        ("ivoa.ObsCore",),
    ),
    Example(
        "target-across-collections",
        "One target in every collection",
        "SELECT c.hlsp_id, p.file_name, p.product_type, p.instrument\n"
        "FROM hlsp.target_alias AS a\n"
        "JOIN hlsp.product_target AS pt ON pt.target_id = a.target_id\n"
        "JOIN hlsp.product AS p ON p.product_id = pt.product_id\n"
        "JOIN hlsp.collection AS c ON c.collection_id = p.collection_id\n"
        "WHERE a.name_key = 'tic261136679'\n"
        "ORDER BY hlsp_id, file_name",
        "Every product that observes one named target, whichever HLSP it belongs to "
        "(target names are matched on a normalised key: lower case, no spaces).",
        ("hlsp.target_alias", "hlsp.product_target", "hlsp.product", "hlsp.collection"),
    ),
    Example(
        "spectra-in-time-window",
        "Spectra taken in a time window",
        "SELECT obs_id, provenance_name, instrument_name, t_min, t_max, em_min, em_max\n"
        "FROM ivoa.ObsCore\n"
        "WHERE dataproduct_type = 'spectrum'\n"
        "  AND t_min <= 59300 AND t_max >= 59000\n"
        "ORDER BY t_min",
        "ObsCore rows of one product type whose time range (MJD) overlaps a window.",
        ("ivoa.ObsCore",),
    ),
    Example(
        "products-per-collection",
        "Facet counts: products per collection and type",
        "SELECT c.hlsp_id, p.dataproduct_type, COUNT(*) AS n_products\n"
        "FROM hlsp.product AS p JOIN hlsp.collection AS c ON c.collection_id = p.collection_id\n"
        "GROUP BY c.hlsp_id, p.dataproduct_type\n"
        "ORDER BY hlsp_id, n_products DESC",
        "How many products each collection holds, by ObsCore product type.",
        ("hlsp.product", "hlsp.collection"),
    ),
    Example(
        "provenance-inputs",
        "What a product was made from",
        "SELECT p.file_name, i.input_index, i.kind, i.identifier, i.program_id,\n"
        "       s.name AS software, s.software_version\n"
        "FROM hlsp.product AS p\n"
        "JOIN hlsp.provenance_input AS i ON i.product_id = p.product_id\n"
        "LEFT JOIN hlsp.provenance_software AS s ON s.product_id = p.product_id\n"
        "WHERE p.file_name LIKE 'hlsp_tglc_%'\n"
        "ORDER BY file_name, input_index",
        "Input observations, files and programs behind the products of one collection, with "
        "the software that made them.",
        ("hlsp.product", "hlsp.provenance_input", "hlsp.provenance_software"),
    ),
    Example(
        "needs-review",
        "Products whose guideline check did not pass",
        "SELECT p.file_name, f.finding_index, p.verdict, f.code, f.keyword, f.message\n"
        "FROM hlsp.product AS p JOIN hlsp.product_finding AS f ON f.product_id = p.product_id\n"
        "WHERE p.verdict <> 'PASS' AND f.severity = 'error'\n"
        "ORDER BY file_name, finding_index",
        "The errors the HLSP guideline check found, per file (codes are documented in "
        "docs/findings.md).",
        ("hlsp.product", "hlsp.product_finding"),
    ),
    Example(
        "wavelength-overlap",
        "Products covering a wavelength",
        "SELECT obs_id, provenance_name, dataproduct_type, em_min, em_max\n"
        "FROM ivoa.ObsCore\n"
        "WHERE em_min <= 6.563e-7 AND em_max >= 6.563e-7",
        "Products whose spectral coverage (metres) includes H-alpha.",
        ("ivoa.ObsCore",),
    ),
    Example(
        "footprint-contains",
        "Images whose footprint contains a position",
        "SELECT obs_id, provenance_name, s_fov, s_region\n"
        "FROM ivoa.ObsCore\n"
        "WHERE dataproduct_type = 'image'\n"
        "  AND CONTAINS(POINT('ICRS', 150.1, 2.2), s_region) = 1",
        "Images (mosaics, cutouts) whose sky footprint covers a position.",
        ("ivoa.ObsCore",),
    ),
    Example(
        "upload-crossmatch",
        "Crossmatch your own list of positions",
        "SELECT u.*, o.obs_id, o.provenance_name, o.dataproduct_type,\n"
        "       DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) AS dist\n"
        "FROM TAP_UPLOAD.mylist AS u\n"
        "JOIN ivoa.ObsCore AS o\n"
        "  ON DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) < 0.01",
        "Upload a table with ra and dec columns (degrees) as 'mylist' (in TOPCAT: the "
        "Upload examples; in pyvo: uploads={'mylist': table}) and find HLSP products within "
        "36 arcseconds of each row.",
    ),
    Example(
        "recent-collections",
        "Collections and their size",
        "SELECT c.hlsp_id, c.title, c.doi, COUNT(p.product_id) AS n_products\n"
        "FROM hlsp.collection AS c LEFT JOIN hlsp.product AS p\n"
        "  ON p.collection_id = c.collection_id\n"
        "GROUP BY c.hlsp_id, c.title, c.doi\n"
        "ORDER BY n_products DESC",
        "Every HLSP with its title, DOI and number of products.",
        ("hlsp.collection", "hlsp.product"),
    ),
)
