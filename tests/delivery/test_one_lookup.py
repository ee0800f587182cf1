"""Every delivery path finds its files through the one look-up: no other module of
``catalog/delivery`` asks the database where a file is, so the access rules added to
``hlsp.deliverable_files`` (and :class:`~catalog.delivery.lookup.Deliverables`) guard them all.
``hlsp previews`` (an operator's command, run as the catalog's owner) is the one exception."""

from __future__ import annotations

from tests.support.db import REPO

DELIVERY = REPO / "catalog" / "delivery"
THE_LOOKUP = {"lookup.py"}
OPERATOR_COMMANDS = {"previews/batch.py"}
# (module, word): the service records a missing file's path (hlsp.missing_file), reading none
WRITES_ONLY = {("service.py", "file_path")}


def test_only_the_lookup_reads_where_files_are() -> None:
    offenders = []
    for module in sorted(DELIVERY.rglob("*.py")):
        name = str(module.relative_to(DELIVERY))
        if name in THE_LOOKUP | OPERATOR_COMMANDS:
            continue
        text = module.read_text(encoding="utf-8")
        for needle in ("deliverable_files", "file_path", "hlsp.product", "companion_file"):
            if needle in text and (name, needle) not in WRITES_ONLY:
                offenders.append(f"{name}: {needle}")
    assert not offenders, offenders
    lookup = (DELIVERY / "lookup.py").read_text(encoding="utf-8")
    assert "hlsp.deliverable_files" in lookup
