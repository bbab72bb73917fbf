"""The part of JSON Schema that neuronpedia-graph-schema.json uses (type, required, properties,
items), enough to check a written file against it without a validator package."""

from typing import Any

_PYTHON_TYPES = {"object": dict, "array": list, "string": str, "null": type(None)}


def _is(value: Any, type_name: str) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, never a number to JSON Schema
        return type_name == "boolean"
    if type_name == "integer":
        return isinstance(value, int)
    if type_name == "number":
        return isinstance(value, (int, float))
    return isinstance(value, _PYTHON_TYPES.get(type_name, ()))


def schema_errors(value: Any, schema: dict, where: str = "$") -> list[str]:
    """Every place where `value` breaks `schema`, as 'path: problem' lines."""
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is(value, t) for t in types):
            return [f"{where}: expected {' or '.join(types)}, got {type(value).__name__}"]
    errors = []
    if isinstance(value, dict):
        errors += [f"{where}: missing {key!r}" for key in schema.get("required", ()) if key not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{i}]")
    return errors
