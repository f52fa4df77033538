"""Typed JSON documents: a dict checked against dataclass types, and the JSON Schema of the same
types. Why: the build manifest, the engine sidecar and the bench's results.json are contracts
between programs; each is written down once, as dataclasses, and both the validation a reader
runs (stdlib only: the vehicle has no jsonschema) and the schema published in docs/schemas/
come from that one definition.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from edgexai.core.errors import EdgexaiError

_UNIONS = (Union, types.UnionType)


class ContractError(EdgexaiError):
    """A document that does not follow its contract (the message names the field)."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _union(value: Any, tp: Any, where: str) -> Any:
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
        try:
            return check(value, arg, where)
        except ContractError as exc:
            errors.append(str(exc))
    raise ContractError(
        errors[0] if len(errors) == 1 else f"{where} has the wrong type ({type(value).__name__})"
    )


def _literal(value: Any, tp: Any, where: str) -> Any:
    if value not in typing.get_args(tp):
        raise ContractError(
            f"{where} is {value!r}; expected one of {', '.join(map(repr, typing.get_args(tp)))}"
        )
    return value


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ContractError(f"{where} must be an object, not {type(value).__name__}")
    return value


def _list(value: Any, tp: Any, where: str) -> list:
    if not isinstance(value, list):
        raise ContractError(f"{where} must be a list, not {type(value).__name__}")
    (item,) = typing.get_args(tp)
    return [check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]


def _dict(value: Any, tp: Any, where: str) -> dict:
    _, item = typing.get_args(tp)
    return {str(k): check(v, item, f"{where}.{k}") for k, v in _object(value, where).items()}


def _dataclass(value: Any, tp: Any, where: str) -> Any:
    value = _object(value, where)
    hints = typing.get_type_hints(tp)
    kwargs = {}
    for f in dataclasses.fields(tp):
        if f.name not in value:
            raise ContractError(f"{where} lacks the field '{f.name}'")
        kwargs[f.name] = check(value[f.name], hints[f.name], f"{where}.{f.name}")
    return tp(**kwargs)


def _number(value: Any, tp: Any, where: str) -> Any:
    """int or float; a bool is neither, an int is a float."""
    kinds = (int, float) if tp is float else (int,)
    if isinstance(value, bool) or not isinstance(value, kinds):
        noun = "a number" if tp is float else "an integer"
        raise ContractError(f"{where} must be {noun}, not {type(value).__name__}")
    return float(value) if tp is float else value


def check(value: Any, tp: Any, where: str) -> Any:
    """`value` converted to `tp` (dataclasses built from dicts), or ContractError at `where`."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in _UNIONS:
        return _union(value, tp, where)
    if origin is Literal:
        return _literal(value, tp, where)
    if origin is list:
        return _list(value, tp, where)
    if origin is dict:
        return _dict(value, tp, where)
    if dataclasses.is_dataclass(tp):
        return _dataclass(value, tp, where)
    if tp in (int, float):
        return _number(value, tp, where)
    if not isinstance(value, tp):
        raise ContractError(f"{where} must be {_type_name(tp)}, not {type(value).__name__}")
    return value


def schema_of(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp is Any:
        return {}
    if origin in _UNIONS:
        return {"anyOf": [schema_of(a, defs) for a in typing.get_args(tp)]}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is list:
        return {"type": "array", "items": schema_of(typing.get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(typing.get_args(tp)[1], defs)}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__.lstrip("_")
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = typing.get_type_hints(tp)
            fields = dataclasses.fields(tp)
            defs[name] = {
                "type": "object",
                "description": (tp.__doc__ or "").strip(),
                "required": [f.name for f in fields],
                "properties": {f.name: schema_of(hints[f.name], defs) for f in fields},
            }
        return {"$ref": f"#/$defs/{name}"}
    return {
        type(None): {"type": "null"},
        str: {"type": "string"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
    }[tp]


def document_schema(
    types_: dict[str, Any],
    title: str,
    schema_id: str,
    consts: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A draft 2020-12 schema: one of `types_` (name → dataclass); `consts` pins fields of each
    (e.g. the format string and the kind)."""
    defs: dict[str, Any] = {}
    refs = [schema_of(t, defs) for t in types_.values()]
    for name, t in types_.items():
        for field, value in (consts or {}).get(name, {}).items():
            defs[t.__name__.lstrip("_")]["properties"][field] = {"const": value}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://edgexai.invalid/schemas/{schema_id}",
        "title": title,
        **({"oneOf": refs} if len(refs) > 1 else refs[0]),
        "$defs": defs,
    }
