"""Every exposed column is described once, on the model, with names users never need to quote."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from catalog.model import Base
from catalog.obscore import obscore
from catalog.vo import column_meta, name_problem, table_meta
from tests.support.db import REPO

ALL_TABLES = [*Base.metadata.sorted_tables, obscore]


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.fullname)
def test_every_column_is_described(table: sa.Table) -> None:
    tmeta = table_meta(table)
    assert tmeta is not None and tmeta.description, f"{table.fullname} has no TableMeta"
    problems = []
    for column in table.columns:
        meta = column_meta(column)
        where = f"{table.fullname}.{column.name}"
        if meta is None:
            problems.append(f"{where}: declared without vo_column/plain_column")
            continue
        if not meta.description.strip():
            problems.append(f"{where}: no description")
        if meta.published and not meta.ucd:
            problems.append(f"{where}: published without a UCD")
        if meta.utype and not meta.utype.startswith(("obscore:", "ivo://")):
            problems.append(f"{where}: utype {meta.utype!r} has no data-model prefix")
        if column.comment != meta.description:
            problems.append(f"{where}: DDL comment differs from the description")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.fullname)
def test_names_are_regular_and_unreserved(table: sa.Table) -> None:
    problems = [f"{table.fullname}: {p}" for p in [name_problem(table.name)] if p]
    problems += [
        f"{table.fullname}.{c.name} {p}" for c in table.columns if (p := name_problem(c.name))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "name",
    [
        "size",
        "date",
        "position",
        "value",
        "first",
        "count",
        "time",
        "dec",
        "user",
        "level",
        "zone",
        "point",
        "region",
        "top",
        "offset",
        "limit",
        "Mixed",
        "1abc",
        "with space",
        "a-b",
    ],
)
def test_the_name_check_catches_what_users_would_have_to_quote(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["s_ra", "s_dec", "hlsp_id", "filter_name", "t_min", "obs_id"])
def test_the_name_check_passes_ordinary_names(name: str) -> None:
    assert name_problem(name) is None


def test_unpublished_columns_are_the_internal_ones() -> None:
    hidden = {
        f"{t.name}.{c.name}"
        for t in ALL_TABLES
        for c in t.columns
        if (m := column_meta(c)) is not None and not m.published
    }
    assert hidden == {
        "collection.search_text",
        "target_alias.search_text",
        "product.file_path",
        "product.headers",
        "product.harvest_run_id",
        "product.footprint_bound",
        "obscore.pos",
        "obscore.footprint",
        "obscore.footprint_bound",
    }


def test_top_level_graphql_folder_does_not_shadow_graphql_core() -> None:
    # Run from the repository root, where a graphql/__init__.py would win over graphql-core.
    code = "import strawberry, graphql, pathlib; print(pathlib.Path(graphql.__file__).resolve())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout, result.stdout
    assert not (REPO / "graphql" / "__init__.py").exists()
