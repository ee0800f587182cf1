"""The settings: one object read from the environment by ``catalog/config.py`` alone, checked
when ``hlsp`` starts, documented in the README exactly, with a warning for a mistyped name."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from catalog.config import (
    KNOWN,
    VARIABLES,
    EmbeddedSettings,
    GraphQLSettings,
    HarvestSettings,
    PreviewSettings,
    ServingSettings,
    Settings,
    TapSettings,
    TapUploadSettings,
    export_to_environment,
    unknown_variable_warnings,
)
from catalog.errors import ConfigError
from tests.support.cli import hlsp

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _at(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


# -- each section from an environment mapping ---------------------------------------------------


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_url is None and settings.embedded
    assert settings.tap == TapSettings()
    assert settings.graphql == GraphQLSettings()
    assert settings.embedded_cluster == EmbeddedSettings()
    assert settings.harvest == HarvestSettings(native=True)


def test_the_serving_section() -> None:
    env = {
        "HLSP_WORKERS": "3",
        "HLSP_TAP_SLOTS": "5",
        "HLSP_GRAPHQL_SLOTS": "6",
        "HLSP_QUEUE": "0",
        "HLSP_QUEUE_WAIT": "2.5",
        "HLSP_CLIENT_TIMEOUT": "7",
        "HLSP_SEND_STALL": "8",
        "HLSP_SPOOL_DIR": "/var/spool/hlsp",
        "HLSP_SPOOL_BYTES": "1048576",
        "HLSP_SPOOL_HOLD": "9",
    }
    assert ServingSettings.from_env(env) == ServingSettings(
        workers=3,
        tap_slots=5,
        graphql_slots=6,
        queue=0,
        queue_wait=2.5,
        client_timeout=7.0,
        send_stall=8.0,
        spool_dir="/var/spool/hlsp",
        spool_bytes=1 << 20,
        spool_hold=9.0,
    )


TAP_ENV = {
    "HLSP_TAP_MAXREC_DEFAULT": "500",
    "HLSP_TAP_MAXREC_HARD": "2000",
    "HLSP_TAP_SYNC_TIMEOUT": "15",
    "HLSP_TAP_DURATION_DEFAULT": "60",
    "HLSP_TAP_DURATION_HARD": "120",
    "HLSP_TAP_RETENTION_DEFAULT": "3600",
    "HLSP_TAP_RETENTION_HARD": "86400",
}


def test_the_tap_section() -> None:
    env = dict(TAP_ENV)
    assert TapSettings.from_env(env) == TapSettings(500, 2000, 15, 60, 120, 3600, 86400)
    defaults = TapSettings()
    assert (defaults.maxrec_default, defaults.maxrec_hard, defaults.sync_timeout) == (
        10_000,
        10_000_000,
        60,
    )
    assert (defaults.duration_default, defaults.duration_hard) == (600, 3600)
    assert (defaults.retention_default, defaults.retention_hard) == (2 * 86400, 30 * 86400)


def test_the_tap_limits_reach_the_tap_service() -> None:
    from catalog.db import Database
    from catalog.tap_service import tap_config

    env = {
        **TAP_ENV,
        "HLSP_TAP_UPLOAD_BYTES": "1000",
        "HLSP_TAP_UPLOAD_ROWS": "10",
    }
    settings = Settings.from_env({"HLSP_DATABASE_URL": "postgresql://x@localhost/db", **env})
    config = tap_config(Database.from_settings(settings))
    assert (config.maxrec_default, config.maxrec_hard, config.sync_timeout) == (500, 2000, 15)
    assert (config.duration_default, config.duration_hard) == (60, 120)
    assert (config.retention_default, config.retention_hard) == (3600, 86400)
    assert (config.upload_bytes, config.upload_rows) == (1000, 10)


def test_the_tap_upload_section() -> None:
    env = {
        "HLSP_TAP_UPLOAD_ALLOW": "10.1.0.0/16, fd00::/8",
        "HLSP_TAP_UPLOAD_TIMEOUT": "7.5",
        "HLSP_TAP_UPLOAD_BYTES": "1000",
        "HLSP_TAP_UPLOAD_ROWS": "10",
        "HLSP_TAP_UPLOAD_TABLES": "4",
    }
    assert TapUploadSettings.from_env(env) == TapUploadSettings(
        allow=(ip_network("10.1.0.0/16"), ip_network("fd00::/8")),
        timeout=7.5,
        max_bytes=1000,
        max_rows=10,
        max_tables=4,
    )


def test_the_graphql_section() -> None:
    env = {"HLSP_GRAPHQL_MAX_DEPTH": "12", "HLSP_GRAPHQL_INTROSPECTION": "off"}
    assert GraphQLSettings.from_env(env) == GraphQLSettings(max_depth=12, introspection=False)


def test_the_embedded_cluster_and_harvest_sections() -> None:
    env = {"HLSP_PG_BINDIR": "/usr/lib/postgresql/16/bin", "HLSP_PG_USER": "pg"}
    assert EmbeddedSettings.from_env(env) == EmbeddedSettings(
        Path("/usr/lib/postgresql/16/bin"), "pg"
    )
    assert HarvestSettings.from_env({"HLSP_NO_NATIVE": "1"}).native is False
    assert HarvestSettings.from_env({"HLSP_NO_NATIVE": "0"}).native is True


def test_the_previews_section() -> None:
    env = {
        "HLSP_PREVIEW_DIR": "/var/cache/hlsp-previews",
        "HLSP_PREVIEW_CACHE_BYTES": "2097152",
        "HLSP_PREVIEW_TIMEOUT": "2.5",
        "HLSP_PREVIEW_MEMORY": "134217728",
        "HLSP_PREVIEW_WORKERS": "3",
    }
    previews = PreviewSettings.from_env(env)
    assert previews == PreviewSettings("/var/cache/hlsp-previews", 2 << 20, 2.5, 128 << 20, 3)
    assert previews.cache_dir(Path("/srv/hlsp")) == Path("/var/cache/hlsp-previews")
    assert PreviewSettings().cache_dir(Path("/srv/hlsp")) == Path("/srv/hlsp/previews")


def test_the_general_settings() -> None:
    settings = Settings.from_env(
        {
            "HLSP_DATABASE_URL": "postgresql://w@db/hlsp",
            "HLSP_READ_DATABASE_URL": "postgresql://r@replica/hlsp",
            "HLSP_DATA_DIR": "/srv/hlsp",
            "HLSP_IVOA_AUTHORITY": "ivo://archive.example/hlsp",
            "HLSP_PUBLIC_URL": "https://archive.example/hlsp",
            "HLSP_CORS_ORIGINS": "https://portal.example",
        }
    )
    assert (settings.database_url, settings.read_database_url) == (
        "postgresql://w@db/hlsp",
        "postgresql://r@replica/hlsp",
    )
    assert settings.data_dir == Path("/srv/hlsp")
    assert settings.ivoa_authority == "ivo://archive.example/hlsp"
    assert settings.public_url == "https://archive.example/hlsp"
    assert settings.cors_origins == ("https://portal.example",)
    assert not settings.embedded


def test_the_server_processes_get_the_command_lines_choices() -> None:
    environ: dict[str, str] = {}
    settings = Settings(database_url="postgresql://w@db/hlsp", data_dir=Path("/srv/hlsp"))
    export_to_environment(settings, environ)
    again = Settings.from_env(environ)
    assert (again.database_url, again.data_dir) == (settings.database_url, settings.data_dir)


# -- bad values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HLSP_WORKERS": "many"}, "HLSP_WORKERS must be an integer, got 'many'"),
        ({"HLSP_QUEUE_WAIT": "soon"}, "HLSP_QUEUE_WAIT must be a number"),
        ({"HLSP_QUEUE_WAIT": "nan"}, r"HLSP_QUEUE_WAIT must lie in \[0, 600\]"),
        ({"HLSP_TAP_SLOTS": "0"}, r"HLSP_TAP_SLOTS must lie in \[1, 256\], got 0"),
        ({"HLSP_TAP_MAXREC_HARD": "lots"}, "HLSP_TAP_MAXREC_HARD must be an integer"),
        ({"HLSP_TAP_SYNC_TIMEOUT": "0"}, r"HLSP_TAP_SYNC_TIMEOUT must lie in \[1, 86400\]"),
        (
            {"HLSP_TAP_MAXREC_DEFAULT": "20000", "HLSP_TAP_MAXREC_HARD": "1000"},
            r"HLSP_TAP_MAXREC_DEFAULT \(20000\) must not exceed HLSP_TAP_MAXREC_HARD \(1000\)",
        ),
        ({"HLSP_TAP_DURATION_DEFAULT": "7200"}, "must not exceed HLSP_TAP_DURATION_HARD"),
        ({"HLSP_TAP_RETENTION_HARD": "3600"}, "must not exceed HLSP_TAP_RETENTION_HARD"),
        ({"HLSP_TAP_UPLOAD_ALLOW": "intranet"}, "HLSP_TAP_UPLOAD_ALLOW must be comma-separated"),
        ({"HLSP_TAP_UPLOAD_ROWS": "many"}, "HLSP_TAP_UPLOAD_ROWS must be an integer"),
        (
            {"HLSP_GRAPHQL_MAX_PAGE_SIZE": "0"},
            r"HLSP_GRAPHQL_MAX_PAGE_SIZE must lie in \[1, 100000\]",
        ),
        ({"HLSP_GRAPHQL_INTROSPECTION": "maybe"}, "HLSP_GRAPHQL_INTROSPECTION must be on or off"),
        ({"HLSP_PREVIEW_TIMEOUT": "nan"}, r"HLSP_PREVIEW_TIMEOUT must lie in \[0.1, 3600\]"),
        ({"HLSP_PREVIEW_MEMORY": "1000"}, r"HLSP_PREVIEW_MEMORY must lie in \[67108864, "),
        ({"HLSP_DATABASE_URL": "mysql://x@y/z"}, "HLSP_DATABASE_URL must be a PostgreSQL URL"),
        ({"HLSP_PUBLIC_URL": "archive.example"}, "HLSP_PUBLIC_URL must be an http"),
        ({"HLSP_CORS_ORIGINS": "portal.example"}, "HLSP_CORS_ORIGINS must be"),
        ({"HLSP_IVOA_AUTHORITY": "http://x"}, "HLSP_IVOA_AUTHORITY must look like ivo://"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_expects(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Settings.from_env(env)
    assert info.value.code == "HLSP-001"


def test_the_command_refuses_a_bad_value_when_it_starts(tmp_path: Path) -> None:
    result = hlsp("db", "url", env={"HLSP_DATA_DIR": str(tmp_path), "HLSP_TAP_MAXREC_HARD": "lots"})
    assert result.returncode == 2
    assert "HLSP-001" in result.stderr
    assert "HLSP_TAP_MAXREC_HARD must be an integer, got 'lots'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# -- a mistyped name -----------------------------------------------------------------------------


def test_a_mistyped_name_is_named_with_the_closest_setting() -> None:
    env = {
        "HLSP_DATABSE_URL": "postgresql://w@db/hlsp",
        "HLSP_GRAPHQL_MAX_DEPT": "5",
        "HLSP_ZZZ": "1",
        "HLSP_DATABASE_URL": "postgresql://w@db/hlsp",
        "PATH": "/usr/bin",
    }
    warnings = unknown_variable_warnings(env)
    assert len(warnings) == 3
    assert "HLSP_DATABSE_URL" in warnings[0] and "did you mean HLSP_DATABASE_URL?" in warnings[0]
    assert "HLSP_GRAPHQL_MAX_DEPT" in warnings[1]
    assert "did you mean HLSP_GRAPHQL_MAX_DEPTH?" in warnings[1]
    assert "HLSP_ZZZ" in warnings[2] and "did you mean" not in warnings[2]
    assert unknown_variable_warnings(dict.fromkeys(KNOWN, "")) == []


def test_the_command_warns_once_about_a_mistyped_name(tmp_path: Path) -> None:
    result = hlsp(
        "db",
        "url",
        env={"HLSP_DATA_DIR": str(tmp_path), "HLSP_DATABSE_URL": "postgresql://w@db/hlsp"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("HLSP_DATABSE_URL") == 1
    assert "did you mean HLSP_DATABASE_URL?" in result.stderr


# -- the registry, the settings object and the README --------------------------------------------


SAMPLES = {
    "HLSP_DATABASE_URL": "postgresql://w@db/hlsp",
    "HLSP_READ_DATABASE_URL": "postgresql://r@replica/hlsp",
    "HLSP_DATA_DIR": "/srv/hlsp",
    "HLSP_IVOA_AUTHORITY": "ivo://archive.example/hlsp",
    "HLSP_PUBLIC_URL": "https://archive.example/hlsp",
    "HLSP_CORS_ORIGINS": "https://portal.example",
    "HLSP_PG_BINDIR": "/opt/pg/bin",
    "HLSP_PG_USER": "pg",
    "HLSP_NO_NATIVE": "1",
    "HLSP_SPOOL_DIR": "/var/spool/hlsp",
    "HLSP_PREVIEW_DIR": "/var/cache/hlsp-previews",
    "HLSP_TAP_UPLOAD_ALLOW": "10.0.0.0/8",
    "HLSP_GRAPHQL_INTROSPECTION": "off",
}


def test_every_variable_sets_its_setting_and_every_setting_has_a_variable() -> None:
    defaults = Settings.from_env({})
    for variable in VARIABLES:
        if not variable.setting:
            continue
        default = _at(defaults, variable.setting)
        if variable.name in SAMPLES:
            raw = SAMPLES[variable.name]
        elif isinstance(default, int | float) and not isinstance(default, bool):
            raw = str(type(default)(default + 1))
        else:
            raise AssertionError(f"no sample value for {variable.name}")
        changed = _at(Settings.from_env({variable.name: raw}), variable.setting)
        assert changed != default, variable.name
    documented = {v.setting for v in VARIABLES}
    for section in fields(Settings):
        value = getattr(defaults, section.name)
        names = (
            [f"{section.name}.{f.name}" for f in fields(value)]
            if hasattr(value, "__dataclass_fields__")
            else [section.name]
        )
        for name in names:
            assert name in documented, f"setting {name} has no HLSP_* variable"


def _readme_tables() -> dict[str, str]:
    """The README's settings tables: variable -> default, one variable a row."""
    rows: dict[str, str] = {}
    variable_col = default_col = -1
    for line in README.read_text().splitlines():
        if not line.startswith("|"):
            variable_col = default_col = -1
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "variable" in cells and "default" in cells:
            variable_col, default_col = cells.index("variable"), cells.index("default")
            continue
        if variable_col < 0 or set(line) <= set("|-: "):
            continue
        names = re.findall(r"`(HLSP_[A-Z0-9_]+)`", cells[variable_col])
        assert len(names) == 1, f"one variable a row: {line}"
        assert names[0] not in rows, f"{names[0]} documented twice"
        rows[names[0]] = cells[default_col]
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_the_readme_documents_every_setting_with_its_default_and_nothing_else() -> None:
    documented = _readme_tables()
    assert set(documented) == set(KNOWN), (
        f"missing from the README: {sorted(KNOWN - set(documented))}; "
        f"documented but no setting: {sorted(set(documented) - KNOWN)}"
    )
    defaults = Settings()
    for variable in VARIABLES:
        expected = variable.default
        if expected is None:
            expected = _shown(_at(defaults, variable.setting))
        assert documented[variable.name] == expected, variable.name


# -- one reader ----------------------------------------------------------------------------------

ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(source: str) -> list[int]:
    """Lines of ``source`` that touch the environment other than to read one named variable
    that is not an ``HLSP_*`` one (``os.environ.get("PATH")``)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if {alias.name for alias in node.names} & ENVIRONMENT_NAMES:
                found.append(node.lineno)
            continue
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ENVIRONMENT_NAMES
        ):
            continue
        parent = parents.get(node)
        key: ast.expr | None = None
        if isinstance(parent, ast.Subscript) and parent.value is node:
            key = parent.slice
        elif isinstance(parent, ast.Call) and parent.func is node and parent.args:
            key = parent.args[0]  # os.getenv("NAME")
        elif isinstance(parent, ast.Attribute) and parent.attr == "get":
            call = parents.get(parent)
            if isinstance(call, ast.Call) and call.func is parent and call.args:
                key = call.args[0]  # os.environ.get("NAME")
        constant = key.value if isinstance(key, ast.Constant) else None
        if isinstance(constant, str) and not constant.startswith("HLSP_"):
            continue  # one named variable, not a setting
        found.append(node.lineno)
    return found


def environment_readers(root: Path) -> list[str]:
    """``path:line`` of every place in ``catalog/`` and ``tap/`` under ``root``, except
    ``catalog/config.py``, that reads or writes ``HLSP_*`` variables (or the environment
    wholesale, or a variable it does not name)."""
    offenders = []
    for package in ("catalog", "tap"):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative == "catalog/config.py":
                continue
            offenders += [f"{relative}:{n}" for n in environment_uses(path.read_text())]
    return offenders


def test_only_the_config_module_reads_hlsp_variables() -> None:
    assert environment_readers(ROOT) == []


def test_the_reader_check_sees_the_ways_of_reading() -> None:
    bad = [
        'import os\nos.environ.get("HLSP_X")',
        'import os\nos.environ["HLSP_X"]',
        'import os\nos.getenv("HLSP_X")',
        "import os\nNAME = 'HLSP_X'\nos.environ.get(NAME, '')",
        "import os\ndict(os.environ)",
        "from os import environ",
        'import os\nos.environ["HLSP_X"] = "1"',
    ]
    for source in bad:
        assert environment_uses(source), source
    assert environment_uses('import os\nos.environ.get("PATH", "/usr/bin")') == []
    assert environment_uses('import os\nos.environ["HOME"]') == []
