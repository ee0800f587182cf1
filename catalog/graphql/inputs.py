"""Input objects built from the fields a client gave, not from every field of their type.

strawberry turns each input object into its Python class by going through every field of
the type, resolving its type and its GraphQL name each time: for ``ProductFilter`` (40
fields) that is most of a millisecond per object, on the event loop, and an ``or`` of a
thousand conditions (within the list limit) held the loop for about a second.
:func:`convert_given_fields` installs strawberry's ``from_input`` hook on input types: the
names and types of the fields are resolved once per type, and only the fields present in
the value are converted (the class supplies its defaults for the others, None for every
optional field), the same objects strawberry would build. Only for classes whose optional
fields all default to None: a null is then the same as an omitted field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryObjectDefinition


def convert_given_fields(*classes: type) -> None:
    """Build instances of these input classes from their given fields only."""
    for cls in classes:
        definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        definition.from_input = _converter(definition)


def _converter(definition: StrawberryObjectDefinition) -> Any:
    fields: dict[str, tuple[str, Any]] = {}

    def from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not fields:  # types are resolved once the schema exists (forward references)
            for field in definition.fields:
                name = context.config.name_converter.from_field(field)
                fields[name] = (field.python_name, field.resolve_type(type_definition=definition))
        kwargs = {}
        for name, item in value.items():
            if item is None:  # graphql-core fills omitted fields with their null default
                continue
            python_name, field_type = fields[name]
            kwargs[python_name] = context.convert(item, field_type, name)
        return cls(**kwargs)

    return from_input
