"""Export the schema as SDL to ``graphql/schema.graphql``, the contract portals build on.

    uv run python -m catalog.graphql.export           # write graphql/schema.graphql
    uv run python -m catalog.graphql.export --check   # exit 1 if the file is out of date

A test runs the check, so the published file never drifts from the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.graphql.schema import build_schema

HEADER = (
    "# The HLSP Catalog GraphQL schema (served at /graphql).\n"
    "# Generated from catalog/graphql by `python -m catalog.graphql.export`: do not edit.\n\n"
)


def schema_sdl() -> str:
    return HEADER + build_schema().as_str().rstrip() + "\n"


def default_path() -> Path:
    return Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    parser.add_argument("--path", type=Path, default=default_path())
    args = parser.parse_args(argv)
    sdl = schema_sdl()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != sdl:
            print(
                f"{args.path} is out of date: run python -m catalog.graphql.export", file=sys.stderr
            )
            return 1
        return 0
    args.path.write_text(sdl, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
