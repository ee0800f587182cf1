"""The IVOA ADQL corpus (lyonetia): our verdicts against the corpus's valid/invalid marks.

A query is accepted when it parses and every function it calls is ADQL's or declared by the
service the corpus was written for (``CORPUS_UDFS``). Skipped without ../shared.
"""

from __future__ import annotations

import pytest

from tap.adql import check_functions, parse, translate
from tap.errors import AdqlError
from tests.support.adql_corpus import CORPUS_UDFS, CorpusQuery, corpus_metadata, load_corpus
from tests.support.db import shared_path

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def corpus() -> list[CorpusQuery]:
    queries = load_corpus(shared_path("data", "adql", "lyonetia", "ivoa"))
    assert len(queries) > 150
    return queries


def accepted(text: str) -> bool:
    try:
        check_functions(parse(text), CORPUS_UDFS)
    except AdqlError:
        return False
    return True


def test_verdicts_agree_with_the_corpus(corpus: list[CorpusQuery]) -> None:
    disagreements = [q for q in corpus if accepted(q.text) != q.valid]
    agreement = 1 - len(disagreements) / len(corpus)
    listing = "\n".join(
        f"  {q.file} {q.uuid} marked {'valid' if q.valid else 'invalid'}: {q.text.strip()!r}"
        for q in disagreements
    )
    assert agreement >= 0.99, f"{agreement:.1%} agreement; disagreements:\n{listing}"


def test_invalid_queries_say_where(corpus: list[CorpusQuery]) -> None:
    for query in corpus:
        if query.valid:
            continue
        with pytest.raises(AdqlError) as caught:
            check_functions(parse(query.text), CORPUS_UDFS)
        assert caught.value.message


def test_valid_queries_translate_or_fail_cleanly(corpus: list[CorpusQuery]) -> None:
    """Translation against invented tables: SQL, or an AdqlError — never another exception."""
    metadata = corpus_metadata()
    translated = 0
    for query in corpus:
        if not query.valid:
            continue
        try:
            result = translate(query.text, metadata, row_limit=100, udfs=CORPUS_UDFS)
        except AdqlError as exc:
            assert exc.message
            continue
        translated += 1
        assert result.sql.startswith(("SELECT", "WITH", "("))
        assert len({c.name.lower() for c in result.columns}) == len(result.columns)
    assert translated >= 0.8 * sum(q.valid for q in corpus)
