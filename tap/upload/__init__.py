"""Uploaded tables (TAP 1.1 §2.7.6, §3.5): the UPLOAD parameter, VOTable reading, loading.

parse_upload_param(values) -> list[UploadSpec]       name,URI pairs, validated
upload_bytes(spec, parts, *, max_bytes, timeout)     the document (part or http(s) fetch)
read_upload(data, *, max_bytes, max_rows) -> UploadedTable
create_upload_table(conn, name, uploaded) -> str     TEMPORARY table, loaded with COPY
"""

from tap.upload.load import create_upload_table, upload_sql_name
from tap.upload.param import UploadSpec, fetch_url, parse_upload_param, upload_bytes
from tap.upload.reader import UploadedTable, read_upload

__all__ = [
    "UploadSpec",
    "UploadedTable",
    "create_upload_table",
    "fetch_url",
    "parse_upload_param",
    "read_upload",
    "upload_bytes",
    "upload_sql_name",
]
