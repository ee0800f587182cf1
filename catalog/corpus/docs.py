"""The README and the optional hlsp-collection.toml manifest of each generated collection."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from catalog.corpus.base import CollectionInfo, GeneratedFile
from catalog.corpus.fitswrite import write_atomic
from catalog.harvest.manifest import MANIFEST_NAME  # the name the harvester reads


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string (ASCII, escaped) is a valid TOML basic string


def manifest_text(info: CollectionInfo) -> str:
    """hlsp-collection.toml: hlsp_id, title, lead, doi, description, release_date (a TOML
    local date), reference, landing_url."""
    lines = [
        f"hlsp_id = {_toml_string(info.hlsp_id)}",
        f"title = {_toml_string(info.title)}",
        f"lead = {_toml_string(info.lead)}",
    ]
    if info.doi is not None:
        lines.append(f"doi = {_toml_string(info.doi)}")
    lines += [
        f"description = {_toml_string(info.description)}",
        f"release_date = {info.release_date}",
        f"reference = {_toml_string(info.reference)}",
        f"landing_url = {_toml_string(info.landing_url)}",
    ]
    return "\n".join(lines) + "\n"


def readme_text(info: CollectionInfo, files: Sequence[GeneratedFile]) -> str:
    """A README in the spirit of MAST's requirements: contents, organisation, contact,
    date, version and references."""
    files = [f for f in files if f.damage is None]
    kinds = Counter(f.kind for f in files)
    observatories = sorted({f.observatory for f in files})
    instruments = sorted({f.instrument for f in files})
    example = next((f.path.name for f in files if f.damage is None), "(none)")
    doi = info.doi or "not assigned (legacy collection)"
    summary = ", ".join(f"{n} {kind} files" for kind, n in sorted(kinds.items()))
    return "\n".join(
        [
            f"# {info.title} ({info.hlsp_id.upper()})",
            "",
            info.description,
            "",
            "## Summary",
            "",
            f"- Project lead: {info.lead}",
            f"- DOI: {doi}",
            f"- Release date: {info.release_date}",
            f"- Reference: {info.reference}",
            f"- Landing page: {info.landing_url}",
            f"- Observatories: {', '.join(observatories)}; instruments: {', '.join(instruments)}",
            f"- Contents: {summary}",
            "",
            "## File naming",
            "",
            "Files follow `hlsp_<proj-id>_<observatory>_<instrument>_<target>_<opt-elem>_"
            "<version>_<product-type>.fits`, for example:",
            "",
            f"    {example}",
            "",
            "Some files are gzip-compressed (`.fits.gz`).",
            "",
            "## Organisation",
            "",
            "Files are grouped in sub-directories by target, sector or campaign, as the",
            "directory tree of this collection shows.",
            "",
            "## Contact and version history",
            "",
            f"Questions go to {info.lead} through the MAST help desk (archive@stsci.edu).",
            "",
            f"- {info.release_date}: first public release.",
            "",
            "## References",
            "",
            f"Please cite {info.reference} when using these data.",
            "",
        ]
    )


def write_documents(
    root: Path, info: CollectionInfo, files: Sequence[GeneratedFile]
) -> tuple[Path, Path | None]:
    """Write the README (and the manifest, if the collection has one); return their paths."""
    directory = root / info.hlsp_id
    directory.mkdir(parents=True, exist_ok=True)
    readme = directory / info.readme_name
    write_atomic(readme, readme_text(info, files).encode("utf-8"))
    manifest = None
    if info.manifest:
        manifest = directory / MANIFEST_NAME
        write_atomic(manifest, manifest_text(info).encode("utf-8"))
    return readme, manifest
