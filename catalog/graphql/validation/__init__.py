"""What a GraphQL document may cost, decided before it runs, with work linear in its text.

Modules:
    document  query text to a checked document: parse, validate, cache small texts
    rules     the depth and alias limits as linear validation rules
    cost      how many objects and fields a query asks for
"""
