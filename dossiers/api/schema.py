"""drf-spectacular hooks."""

# Integer bounds drf-spectacular reads from the database backend (SQLite knows only 64-bit
# integers, PostgreSQL has small/regular/big): drop them so the schema is the same everywhere.
BACKEND_BOUNDS = {32767, 2147483647, 9223372036854775807}


def drop_backend_integer_bounds(result, generator, request, public):
    def walk(node):
        if isinstance(node, dict):
            if node.get("maximum") in BACKEND_BOUNDS:  # also on enum-typed integers
                node.pop("maximum")
                if node.get("format") == "int64":
                    node.pop("format")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


# Answers any operation may give, whatever its own view does: every endpoint is throttled, a
# token that is not valid is refused even on public endpoints, and a body over the size limit
# is refused before any view reads it.
COMMON_ERRORS = {
    "401": ("Not authenticated, or the token is not valid.", None),
    "413": ("Request body too large.", {"post", "put", "patch"}),
    "415": ("Unsupported body media type.", {"post", "put", "patch"}),
    "429": ("Throttled.", None),
}


def add_common_errors(result, generator, request, public):
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.get("responses")
            if responses is None:
                continue
            for status, (description, methods) in COMMON_ERRORS.items():
                if status in responses or (methods and method not in methods):
                    continue
                responses[status] = {"content": error, "description": description}
            operation["responses"] = dict(sorted(responses.items()))
    return result
