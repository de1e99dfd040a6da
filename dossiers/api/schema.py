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
