"""The configuration reference, generated from the config models so it is never written twice.

``edge.cli.config_reference`` puts the edge's and the dashboard's tables in one document.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config models an annotation holds (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (list, Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    if get_origin(annotation) is dict:
        return _models_in(get_args(annotation)[1])
    return []


def _type_name(annotation: Any) -> str:
    """A short reader's name for a field type: ``float or none``, ``[float, float]``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(_type_name(arg) for arg in args) + "]"
    if annotation is type(None):
        return "none"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.default is not PydanticUndefined:
        value = info.default
    elif info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    else:
        return "(required)"
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return ", ".join(str(v.model_dump(mode="json")) for v in value)
    return repr(value)


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = _models_in(info.annotation)
        description = info.description or (nested[0].__doc__ or "").strip().splitlines()[0]
        rows.append(
            f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} | {description} |"
        )
        for sub in nested:
            kind = _type_name(info.annotation)
            inner = "[]." if kind.startswith("list of") else ".<name>." if kind == "dict" else "."
            rows += _rows(sub, f"{key}{inner}")
    return rows


def key_table(model: type[BaseModel]) -> list[str]:
    """Every key of ``model`` and of its sections with its type, default and meaning: the lines
    of one Markdown table."""
    return ["| key | type | default | meaning |", "|---|---|---|---|", *_rows(model, "")]
