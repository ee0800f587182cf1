"""HLSP file names, checked field by field the way MAST's checker (mct) checks them.

Template: ``hlsp_<proj-id>_<observatory>_<instrument>_<target>_<opt-elem>_<version>_
<product-type>.<extension>``. The rules follow spacetelescope/mast_contributor_tools
``filename_check/hlsp_filename.py`` (dev @ ee0a77b8, 2025-10-03):

- The name splits at ``_``; the last part splits at its first ``.`` into product type and
  extension. A name has 4 to 9 fields.
- 9 fields are positional. With 6 to 8 fields, fields 3..N-3 are generic (case, length and
  format only); 4 and 5 field names have none. Field N-2 is the version unless the product
  type is ``readme``; a README's version slot is not checked (mct skips it too).
- Each field gets four checks: capitalization (``str.islower``: no upper case and at least one
  letter), length (1 to the field's maximum), format (mct's regular expression) and value.
  The ``hlsp`` literal and the proj-id (against the expected collection id) fail when wrong;
  observatory, instrument, opt-elem (each ``-`` element) and product type (each element) and
  the extension are looked up in MAST's vocabularies, and an unknown value needs review.
- Field verdict = worst check; name verdict = worst field.

Where this module differs from mct: a name that does not start with ``hlsp_``, has no
extension or has the wrong number of fields gets a FAIL finding instead of an exception; a
name failing mct's file-name pattern gets a FAIL finding and its fields are still checked;
patterns must match the whole value (mct's ``$`` accepts a trailing newline); and names over
90 characters get a NEEDS REVIEW finding (MAST's advice, not checked by mct).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from catalog.harvest.findings import Finding, Rule, Severity, Verdict, rule, verdict_of
from catalog.harvest.rules.vocabulary import Vocabulary, vocabulary

__all__ = [
    "FIELD_NAMES",
    "MAX_FIELDS",
    "MAX_LENGTH",
    "MAX_NAME_LENGTH",
    "MIN_FIELDS",
    "TEMPLATE",
    "FieldCheck",
    "NameCheck",
    "Vocabulary",
    "check_field",
    "check_name",
    "parse_name",
    "vocabulary",
]

TEMPLATE = (
    "hlsp_<proj-id>_<observatory>_<instrument>_<target>_<opt-elem>_<version>"
    "_<product-type>.<extension>"
)
FIELD_NAMES = (
    "hlsp",
    "proj_id",
    "observatory",
    "instrument",
    "target",
    "opt_elem",
    "version",
    "product_type",
    "extension",
)
MIN_FIELDS, MAX_FIELDS = 4, 9
MAX_NAME_LENGTH = 90  # MAST's advice for the whole name; mct does not check it
# mct fc_config.yaml ``FieldLength`` (its names: hlsp_str, hlsp_name, mission, filter, ...).
MAX_LENGTH: Mapping[str, int] = MappingProxyType(
    {
        "hlsp": 4,
        "proj_id": 20,
        "observatory": 20,
        "instrument": 20,
        "target": 30,
        "opt_elem": 20,
        "version": 9,
        "product_type": 16,
        "extension": 16,
        "generic": 20,
    }
)

# mct's patterns, matched against the whole value. mct writes the field pattern as
# ``^[a-zA-Z]*[a-zA-Z0-9-]*[a-zA-Z0-9]*$`` and the extension one as
# ``^[a-zA-Z]*[a-zA-Z0-9.]*[a-zA-Z0-9]*$``; these accept exactly the same strings, without
# the polynomial backtracking.
FILENAME_PATTERN = re.compile(r"[a-zA-Z0-9][\w\-+]+(\.[\w\-+.]+)?(\.\w+(\.gz|\.zip)?)")
PROJ_ID_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]")
TARGET_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9+\-.]*[a-zA-Z0-9]")
VERSION_PATTERN = re.compile(r"v[0-9]{0,2}([.p][0-9]{0,2}){0,2}[0-9]")
EXTENSION_PATTERN = re.compile(r"[a-zA-Z0-9.]*")
FIELD_PATTERN = re.compile(r"[a-zA-Z0-9-]*")

_NAME_CHARS = re.compile(r"[\w\-+.]")

# --- finding kinds ------------------------------------------------------------------------

NOT_HLSP = rule(
    "HLSP-N001",
    Severity.ERROR,
    "Not an HLSP file name",
    f"HLSP files are named {TEMPLATE} (READMEs may be hlsp_<proj-id>_readme.txt); rename the "
    "file to that template or leave it out of the delivery.",
)
NO_EXTENSION = rule(
    "HLSP-N002",
    Severity.ERROR,
    "File name without extension",
    "End the name with _<product-type>.<extension>, e.g. _img.fits or _cat.csv.",
)
FIELD_COUNT = rule(
    "HLSP-N003",
    Severity.ERROR,
    "Wrong number of fields",
    f"Rename the file to {TEMPLATE}: 4 to 9 fields, '_' only between fields and '-' to join "
    "the parts of one field.",
)
NAME_CHARACTERS = rule(
    "HLSP-N004",
    Severity.ERROR,
    "Characters not allowed in a file name",
    "Use only a-z, 0-9, '_' between fields, '-' inside fields, '+' and '.' in the target, "
    "'.' in the version and before the extension.",
)
EMPTY_FIELD = rule(
    "HLSP-N005",
    Severity.ERROR,
    "Empty field",
    "Fill in the missing field or remove the doubled separator ('__', '_.' or a trailing '.').",
)
TOO_LONG = rule(
    "HLSP-N006",
    Severity.ERROR,
    "Field too long",
    "Shorten the field to its maximum length (MAST's checker fails longer fields); "
    "abbreviate, or drop parts the README or headers can carry.",
)
NOT_LOWER_CASE = rule(
    "HLSP-N007",
    Severity.ERROR,
    "Field not in lower case",
    "Rename the file with lower-case letters only; MAST's checker also requires every field "
    "to contain at least one letter.",
)
HLSP_LITERAL = rule(
    "HLSP-N008",
    Severity.ERROR,
    "First field is not 'hlsp'",
    "Start the file name with 'hlsp_'.",
)
PROJ_ID_FORMAT = rule(
    "HLSP-N009",
    Severity.ERROR,
    "Malformed proj-id",
    "Use the collection's id: a letter first, then letters, digits or '-', ending with a "
    "letter or digit.",
)
PROJ_ID_MISMATCH = rule(
    "HLSP-N010",
    Severity.ERROR,
    "proj-id is not the collection's id",
    "Start every file name of the collection with hlsp_<proj-id>_, using the id agreed with MAST.",
)
TARGET_FORMAT = rule(
    "HLSP-N011",
    Severity.ERROR,
    "Malformed target",
    "Use only a-z, 0-9, '-', '+' and '.' in the target, starting and ending with a letter "
    "or digit (e.g. m101-ep1, j152447.75-p041919.8).",
)
VERSION_FORMAT = rule(
    "HLSP-N012",
    Severity.ERROR,
    "Malformed version",
    "Write the version as 'v' and up to three numbers of 1-2 digits separated by '.' or 'p' "
    "(v1, v01, v2.3, v1.2.3, v1p0p1); only READMEs may leave it out.",
)
EXTENSION_FORMAT = rule(
    "HLSP-N013",
    Severity.ERROR,
    "Malformed extension",
    "Use a standard extension of letters, digits and '.' (fits, fits.gz, csv, txt, ...).",
)
FIELD_FORMAT = rule(
    "HLSP-N014",
    Severity.ERROR,
    "Characters not allowed in a field",
    "Use only a-z, 0-9 and '-' in this field; '+' and '.' are allowed only in the target "
    "and the version.",
)
UNKNOWN_OBSERVATORY = rule(
    "HLSP-N015",
    Severity.WARNING,
    "Unknown observatory",
    "Use MAST's abbreviation of the mission (hst, jwst, tess, galex, ...), hyphenate several "
    "(hst-jwst) or write 'multi'; MAST staff review any other value.",
)
UNKNOWN_INSTRUMENT = rule(
    "HLSP-N016",
    Severity.WARNING,
    "Unknown instrument",
    "Use MAST's name of the instrument (acs, wfc3, nircam, ffi, ...), hyphenate several "
    "(acs-wfc3) or write 'multi'; MAST staff review any other value.",
)
UNKNOWN_OPT_ELEM = rule(
    "HLSP-N017",
    Severity.WARNING,
    "Unknown optical element",
    "Use the filter or disperser names (f606w, g140l, ...), hyphenate several "
    "(f606w-f814w) or write 'multi'; MAST staff review any other value.",
)
UNKNOWN_PRODUCT_TYPE = rule(
    "HLSP-N018",
    Severity.WARNING,
    "Unknown product type",
    "Use one of MAST's semantic types (img, spec, lc, cat, sed, ...) or a hyphenated compound "
    "of them (sim-img, phot-cat); MAST staff review any other type.",
)
UNKNOWN_EXTENSION = rule(
    "HLSP-N019",
    Severity.WARNING,
    "Unknown extension",
    "Use one of MAST's extensions (fits, fits.gz, asdf, csv, ecsv, txt, png, ...); MAST staff "
    "review any other extension.",
)
NAME_TOO_LONG = rule(
    "HLSP-N020",
    Severity.WARNING,
    "File name longer than 90 characters",
    "Shorten the name to at most 90 characters (MAST's advice): abbreviate the target, "
    "opt-elem or product type.",
)

# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """One field of a file name, its verdict and what is wrong with it."""

    name: str  # a FIELD_NAMES entry, or 'generic3'.. (position in the name) for 6-8 fields
    value: str
    verdict: Verdict
    findings: tuple[Finding, ...]

    def __reduce__(self) -> tuple[type[FieldCheck], tuple[object, ...]]:
        return FieldCheck, (self.name, self.value, self.verdict, self.findings)  # see native.py


@dataclass(frozen=True, slots=True)
class NameCheck:
    """A file name checked against MAST's nomenclature (picklable)."""

    file_name: str
    fields: tuple[FieldCheck, ...]
    findings: tuple[Finding, ...]  # every finding: the fields' ones, then file-level ones
    verdict: Verdict
    proj_id: str | None = None
    observatory: str | None = None
    instrument: str | None = None
    target: str | None = None
    opt_elem: str | None = None
    version: str | None = None
    product_type: str | None = None
    extension: str | None = None
    is_hlsp_name: bool = False  # starts with 'hlsp_' and has 4..9 fields: fields were checked

    def __reduce__(self) -> tuple[type[NameCheck], tuple[object, ...]]:
        return NameCheck, (
            self.file_name,
            self.fields,
            self.findings,
            self.verdict,
            self.proj_id,
            self.observatory,
            self.instrument,
            self.target,
            self.opt_elem,
            self.version,
            self.product_type,
            self.extension,
            self.is_hlsp_name,
        )  # see native.py

    def field(self, name: str) -> FieldCheck | None:
        """The checked field called ``name``, or None when the name has no such field."""
        return next((f for f in self.fields if f.name == name), None)


# --- field checks -------------------------------------------------------------------------

_LABEL = {
    "hlsp": "'hlsp' prefix",
    "proj_id": "proj-id",
    "observatory": "observatory",
    "instrument": "instrument",
    "target": "target",
    "opt_elem": "opt-elem",
    "version": "version",
    "product_type": "product-type",
    "extension": "extension",
}
_PATTERN: Mapping[str, tuple[re.Pattern[str], Rule, str]] = {
    "proj_id": (PROJ_ID_PATTERN, PROJ_ID_FORMAT, "is not a valid collection id"),
    "target": (TARGET_PATTERN, TARGET_FORMAT, "is not a valid target name"),
    "version": (VERSION_PATTERN, VERSION_FORMAT, "is not a version like v1, v1.0 or v1p0p1"),
    "extension": (EXTENSION_PATTERN, EXTENSION_FORMAT, "has characters other than a-z, 0-9, '.'"),
}
_GENERIC_FORMAT = (FIELD_PATTERN, FIELD_FORMAT, "has characters other than a-z, 0-9, '-'")
_SHOWN = 48  # longest value quoted whole in a message


def _show(value: str) -> str:
    text = value if value.isprintable() else repr(value)[1:-1]
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 1] + "…"
    return f"'{text}'"


def _label(name: str) -> str:
    return _LABEL.get(name) or f"field {name.removeprefix('generic')}"


def _suggest(element: str, known: frozenset[str]) -> list[str]:
    if len(element) > 20:
        return []
    return difflib.get_close_matches(element, sorted(known), n=2, cutoff=0.75)


def _unknown(value: str, known: frozenset[str], noun: str, *, whole: bool = False) -> str:
    """Why ``value`` is not in the vocabulary, or '' when it is (mct ignores case here)."""
    if whole:
        missing = [] if value.lower() in known else [value]
    else:
        missing = [e for e in value.split("-") if e.lower() not in known]
    if not missing:
        return ""
    hints = [(e, close) for e in missing[:3] if (close := _suggest(e.lower(), known))]
    if len(missing) == 1 and missing[0] == value:
        why = f"{_show(value)} is not a known {noun}"
    else:
        shown = ", ".join(map(_show, missing[:5])) + (", …" if len(missing) > 5 else "")
        why = f"{shown} in {_show(value)} are not known {noun}s"
    for element, close in hints:
        why += f"; did you mean {' or '.join(map(_show, close))} for {_show(element)}?"
    return why


_VOCABULARY: Mapping[str, tuple[Callable[[Vocabulary], frozenset[str]], Rule, str]] = {
    "observatory": (lambda v: v.observatories, UNKNOWN_OBSERVATORY, "observatory"),
    "instrument": (lambda v: v.instruments, UNKNOWN_INSTRUMENT, "instrument"),
    "opt_elem": (lambda v: v.filters, UNKNOWN_OPT_ELEM, "filter or disperser"),
    "product_type": (lambda v: v.product_types, UNKNOWN_PRODUCT_TYPE, "product type"),
    "extension": (lambda v: v.extensions, UNKNOWN_EXTENSION, "extension"),
}


def _value_findings(name: str, value: str, expected: str | None) -> list[Finding]:
    """mct's value check; for target and version it is the format pattern again (not repeated)."""
    if name == "hlsp":
        if value.lower() == "hlsp":
            return []
        return [HLSP_LITERAL(f"The name starts with {_show(value)}", field=name)]
    if name == "proj_id":
        if expected is None or value.lower() == expected:
            return []
        why = f"proj-id {_show(value)} is not the collection's id {_show(expected)}"
        return [PROJ_ID_MISMATCH(why, field=name)]
    if name not in _VOCABULARY:
        return []
    known, kind, noun = _VOCABULARY[name]
    why = _unknown(value, known(vocabulary()), noun, whole=name == "extension")
    return [kind(f"{_label(name)}: {why}", field=name)] if why else []


def _check(name: str, value: str, expected: str | None, note: str = "") -> FieldCheck:
    label = _label(name)
    if not value:
        found = [EMPTY_FIELD(f"The {label} is empty{note}", field=name)]
        return FieldCheck(name, value, Verdict.FAIL, tuple(found))
    found = []
    if not value.islower():
        if value.lower() != value:
            why = f"has upper-case letters; write {_show(value.lower())}"
        else:
            why = "has no letter, so MAST's checker cannot see it as lower case"
        found.append(NOT_LOWER_CASE(f"{label} {_show(value)} {why}", field=name))
    limit = MAX_LENGTH.get(name, MAX_LENGTH["generic"])
    if len(value) > limit:
        found.append(
            TOO_LONG(
                f"{label} {_show(value)} has {len(value)} characters, over the limit of {limit}",
                field=name,
            )
        )
    pattern, format_rule, why = _PATTERN.get(name, _GENERIC_FORMAT)
    if not pattern.fullmatch(value):
        found.append(format_rule(f"{label} {_show(value)} {why}{note}", field=name))
    found.extend(_value_findings(name, value, expected))
    return FieldCheck(name, value, verdict_of(found), tuple(found))


_check_cached = lru_cache(maxsize=16384)(_check)  # observatories, versions, ... repeat a lot


def check_field(name: str, value: str, hlsp_id: str | None = None) -> FieldCheck:
    """Check one field value as field ``name`` (a FIELD_NAMES entry or 'genericN')."""
    if name not in _LABEL and not (name.startswith("generic") and name[7:].isdigit()):
        raise ValueError(f"unknown file-name field {name!r}; expected one of {FIELD_NAMES}")
    expected = hlsp_id.lower() if hlsp_id and name == "proj_id" else None
    return _check_cached(name, value, expected)


# --- names --------------------------------------------------------------------------------


def _fail(file_name: str, finding: Finding) -> NameCheck:
    return NameCheck(file_name, (), (finding,), Verdict.FAIL)


def _name_characters(name: str) -> Finding:
    bad = sorted({c for c in name if not _NAME_CHARS.fullmatch(c)})
    if bad:
        chars = ", ".join(_show(c) for c in bad[:8])
        return NAME_CHARACTERS(f"The file name has characters MAST does not allow: {chars}")
    return NAME_CHARACTERS(
        "The file name does not have the form MAST's checker expects (letters, digits, '_', "
        "'-', '+', then '.<extension>' of letters and digits)"
    )


def _fields(values: list[str], expected: str | None) -> list[FieldCheck]:
    n = len(values)
    fields = [_check_cached("hlsp", values[0], None), _check_cached("proj_id", values[1], expected)]
    if n == 9:
        fields += [
            _check_cached("observatory", values[2], None),
            _check_cached("instrument", values[3], None),
            _check("target", values[4], None),  # unique per file: not worth caching
            _check_cached("opt_elem", values[5], None),
        ]
    elif n > 5:
        fields += [_check_cached(f"generic{i + 1}", values[i], None) for i in range(2, n - 3)]
    if values[n - 2].lower() != "readme":
        if n == 4:
            note = "; a 4-field name has no version, which only READMEs may leave out"
            fields.append(_check("version", values[1], None, note))
        else:
            fields.append(_check_cached("version", values[n - 3], None))
    fields.append(_check_cached("product_type", values[n - 2], None))
    fields.append(_check_cached("extension", values[n - 1], None))
    return fields


def check_name(file_name: str, hlsp_id: str | None = None) -> NameCheck:
    """Check a file name (directories are ignored) against MAST's rules; never raises.

    ``hlsp_id`` is the collection's id the proj-id must equal (case-insensitive); without it
    the proj-id is checked for case, length and format only.
    """
    name = file_name.rpartition("/")[2]
    if name[:5].lower() != "hlsp_":
        return _fail(file_name, NOT_HLSP(f"{_show(name)} does not start with 'hlsp_'"))
    parts = name.split("_")
    product_type, dot, extension = parts[-1].partition(".")
    if not dot:
        return _fail(
            file_name,
            NO_EXTENSION(f"{_show(name)} has no '.' in its last field {_show(parts[-1])}"),
        )
    values = [*parts[:-1], product_type, extension]
    if not MIN_FIELDS <= len(values) <= MAX_FIELDS:
        return _fail(
            file_name,
            FIELD_COUNT(f"{_show(name)} has {len(values)} fields; MAST accepts 4 to 9"),
        )
    fields = _fields(values, hlsp_id.lower() if hlsp_id else None)
    file_level = []
    if not FILENAME_PATTERN.fullmatch(name):
        file_level.append(_name_characters(name))
    if len(name) > MAX_NAME_LENGTH:
        file_level.append(NAME_TOO_LONG(f"The file name has {len(name)} characters"))
    findings = (*(f for fc in fields for f in fc.findings), *file_level)
    by_name = {fc.name: fc.value for fc in fields}
    return NameCheck(
        file_name=file_name,
        fields=tuple(fields),
        findings=findings,
        verdict=verdict_of(findings),
        proj_id=values[1],
        observatory=by_name.get("observatory"),
        instrument=by_name.get("instrument"),
        target=by_name.get("target"),
        opt_elem=by_name.get("opt_elem"),
        version=by_name.get("version") if len(values) > 4 else None,
        product_type=product_type,
        extension=extension,
        is_hlsp_name=True,
    )


def parse_name(file_name: str) -> NameCheck:
    """:func:`check_name` without an expected collection id."""
    return check_name(file_name)
