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

Modules:
    expression_sql  Translating value expressions and search conditions to PostgreSQL
    expressions     Parsing value expressions: literals, column references, operators and function
                    calls
    functions       The function allow-list: ADQL's math, string and aggregate functions, and the
                    UDFs
    geometry        ADQL geometry on pg_sphere (which works in radians; ADQL in degrees)
    lexer           ADQL tokens: one compiled regular expression, positions kept for error messages
    nodes           The ADQL syntax tree that :func:`tap.adql.parse` returns
    parser          A recursive-descent parser for ADQL 2.1, written from the IVOA grammar
                    (``adql.bnf``)
    scope           Name resolution: which published table, correlation name or column an identifier
                    means
    translate       ADQL query -> one PostgreSQL SELECT, with the metadata of every result column
    units           A small VOUnit converter for ADQL ``IN_UNIT(value, 'unit')``
    values          What the translator knows about a value: its kind, unit and (for columns)
                    metadata
    walk            Iterating over a syntax tree (without recursion, so any tree depth is safe)
    words           Reserved words of ADQL 2.1 (§2.1.3 SQL, §2.1.4 ADQL) and the built-in function
                    names
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
