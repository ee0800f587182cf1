"""From query text to a checked document, with bounded work and a cache for small texts.

Every step is bounded by the size of the text, never by what its fragments expand to:

- parsing: graphql-core's parser with the length and token limits (``max_query_chars``,
  ``max_tokens``), which also refuses nesting deeper than 200 levels (lists, objects,
  selections, type references);
- validation: graphql-core's rules, of which only "fields with one response name can be
  merged" compares pairs of fields; it runs with a work budget (:data:`MERGE_BUDGET`
  comparisons) and a document that needs more is refused with ``LIMIT_EXCEEDED``; the depth
  and alias limits are our own rules, linear in the text (:mod:`catalog.graphql.validation.rules`);
- the cache: a portal sends the same few documents over and over, so the parsed document
  and its validation errors are kept per text, for texts of at most
  :data:`CACHE_MAX_CHARS` characters (:data:`CACHE_ENTRIES` of them, least recently used
  first out): a cache key is the text itself, so its size bounds the memory held.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OverlappingFieldsCanBeMergedRule,
    parse,
    specified_rules,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from catalog.config import GraphQLSettings
from catalog.graphql.validation.rules import shape_rule

MERGE_BUDGET = 10_000
"""Work units (about one per pair of fields compared) the field-merging check may spend:
the portal operations need none (their response names are distinct), ten fragments spread
ten times each a few hundred; the worst document within the token limit would need about
a million, a second of CPU. At the budget, the check takes some tens of milliseconds."""
CACHE_MAX_CHARS = 20_000
CACHE_ENTRIES = 256
MERGE_MESSAGE = (
    "The document is too costly to check: too many fields share a response name (the same "
    "field or alias selected over and over, directly or through fragments). Select each "
    "field once per object."
)


class BudgetedMergeRule(OverlappingFieldsCanBeMergedRule):
    """graphql-core's field-merging rule with a smaller work budget than its default."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = MERGE_BUDGET

    def enter_selection_set(self, *args: Any) -> None:
        try:
            super().enter_selection_set(*args)
        except ValidationAbortedError:
            raise ValidationAbortedError(
                MERGE_MESSAGE, extensions={"code": "LIMIT_EXCEEDED", "limit": MERGE_BUDGET}
            ) from None


def validation_rules(settings: GraphQLSettings) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's rules (field merging budgeted), the depth and alias limits, and the
    introspection switch."""
    rules: list[type[ASTValidationRule]] = [
        BudgetedMergeRule if rule is OverlappingFieldsCanBeMergedRule else rule
        for rule in specified_rules
    ]
    rules.append(shape_rule(settings.max_depth, settings.max_aliases))
    if not settings.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


class _Lru(OrderedDict[str, Any]):
    def get_fresh(self, key: str) -> Any:
        if len(key) > CACHE_MAX_CHARS:
            return None
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: str, value: Any) -> None:
        if len(key) > CACHE_MAX_CHARS:
            return
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE_ENTRIES:
            self.popitem(last=False)


class DocumentChecks:
    """Parsing and validation for one schema's settings, with their caches."""

    def __init__(self, settings: GraphQLSettings) -> None:
        self.max_tokens = settings.max_tokens
        self.max_chars = settings.max_query_chars
        self.rules = validation_rules(settings)
        self._documents = _Lru()
        self._errors = _Lru()

    def parse(self, text: str) -> DocumentNode:
        document: DocumentNode | None = self._documents.get_fresh(text)
        if document is None:
            document = parse(text, max_tokens=self.max_tokens, max_source_length=self.max_chars)
            self._documents.keep(text, document)
        return document

    def validate(
        self, schema: GraphQLSchema, text: str, document: DocumentNode
    ) -> list[GraphQLError]:
        errors: list[GraphQLError] | None = self._errors.get_fresh(text)
        if errors is None:
            errors = validate_document(schema, document, self.rules)
            self._errors.keep(text, errors)
        return errors


class CheckedDocument(SchemaExtension):
    """Parses and validates through :class:`DocumentChecks` (replacing strawberry's steps)."""

    def __init__(self, checks: DocumentChecks) -> None:
        self.checks = checks

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None  # strawberry refuses a missing query before
        context.graphql_document = self.checks.parse(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None and context.graphql_document is not None
        context.pre_execution_errors = self.checks.validate(
            context.schema._schema, context.query, context.graphql_document
        )
        yield
