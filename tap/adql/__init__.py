"""ADQL 2.1 for the TAP service: parsing, validation and translation to PostgreSQL + pg_sphere.

    tree = parse(text)                       # syntax only; AdqlSyntaxError with line/column
    check_functions(tree, udfs)              # every function is ADQL's or a declared UDF
    tr = translate(text, metadata, row_limit=maxrec + 1)
    tr.sql, tr.columns, tr.top, tr.tables

:data:`UDFS` lists the user-defined functions (``form``, ``description``) for the
capabilities document. The translation needs nothing installed in the database beyond
pg_sphere (:data:`SUPPORT_SQL` is empty and kept for hosts that install it anyway).

Column names in the database follow :func:`sql_column_name`: a metadata name stored
delimited (``"size"``) verbatim, a regular one lower-cased — hosts creating tables (uploads)
must name their columns that way.
"""

from tap.adql.functions import UDFS, Udf
from tap.adql.parser import parse
from tap.adql.scope import sql_column_name, sql_relation
from tap.adql.translate import Translation, check_functions, translate

SUPPORT_SQL = ""

__all__ = [
    "SUPPORT_SQL",
    "UDFS",
    "Translation",
    "Udf",
    "check_functions",
    "parse",
    "sql_column_name",
    "sql_relation",
    "translate",
]
