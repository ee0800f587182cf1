"""Uploaded tables (TAP 1.1 §2.7.6, §3.5): the UPLOAD parameter, VOTable reading, loading.

parse_upload_param(values) -> list[UploadSpec]       name,URI pairs, validated
read_uploads(specs, parts, config)                   every table of a request, within its limits
fetch_url(url, *, max_bytes, deadline, policy)       an http(s) document, public addresses only
read_upload(data, *, max_bytes, max_rows) -> UploadedTable
create_upload_table(conn, name, uploaded) -> str     TEMPORARY table, loaded with COPY

Modules:
    address  Which network addresses an upload URL may be fetched from
    budget   All the uploads of one request, read under limits that hold for the request as a whole
    decode   Cell values of an uploaded table, from TABLEDATA text or BINARY/BINARY2 bytes
    fetch    Fetching an upload URL without letting it reach what the server can see and users
             cannot
    fields   Uploaded FIELDs: their VOTable types, the PostgreSQL type each becomes, safe SQL names
    load     An uploaded table in the database: a TEMPORARY table loaded with COPY
    param    The UPLOAD parameter (DALI 1.1 §3.4.5, TAP 1.1 §2.7.6)
    reader   Reading an uploaded VOTable (TAP 1.1 §3.5, DALI 1.1 §3.4.5)
"""

from tap.upload.budget import read_uploads
from tap.upload.fetch import Deadline, FetchPolicy, fetch_url
from tap.upload.load import create_upload_table, upload_sql_name
from tap.upload.param import UploadSpec, parse_upload_param
from tap.upload.reader import UploadedTable, read_upload

__all__ = [
    "Deadline",
    "FetchPolicy",
    "UploadSpec",
    "UploadedTable",
    "create_upload_table",
    "fetch_url",
    "parse_upload_param",
    "read_upload",
    "read_uploads",
    "upload_sql_name",
]
