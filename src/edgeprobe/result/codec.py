"""Frozen dataclasses ↔ JSON-shaped data, for the run result's classes (types.py).

Generic on purpose: a field's type hint says how its JSON becomes a value, a field that is
``UNSET`` stays out of the JSON, and a class whose JSON key order differs from its fields'
order names it in ``JSON_ORDER``. Runs hold thousands of checks, so the per-class work
(resolving hints, choosing a converter per field) is done once per class, not per value.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


class Unset:
    """The type of UNSET: a key the run does not have (falsy, like an empty value)."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


_SCALARS = (str, int, float, bool, type(None))
_PLAIN = frozenset(_SCALARS)  # exact types a value of which is its own JSON


def to_json(value: Any) -> Any:
    """A value of these classes as JSON-shaped data (UNSET fields left out)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [v if type(v) in _PLAIN else to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN else to_json(v) for k, v in value.items()}
    out = {}
    for name in _json_names(type(value)):  # type: ignore[arg-type]
        v = getattr(value, name)
        if type(v) in _PLAIN:  # most fields: no call for them (thousands of checks a run)
            out[name] = v
        elif v is not UNSET:
            out[name] = to_json(v)
    return out


def from_json(cls: type[T], data: Any) -> T:
    """JSON-shaped data (valid against the schema) as a value of ``cls``."""
    return _decoder(cls)(data)  # type: ignore[no-any-return,arg-type]


@functools.cache
def _decoder(cls: type) -> Callable[[Any], Any]:
    """``cls``'s decoder: its plain fields copied as they are, only the others converted
    (a call per field and per check was most of from_json's time)."""
    converters = _converters(cls)
    plain = tuple(name for name, convert in converters if convert is _same)
    nested = tuple((name, convert) for name, convert in converters if convert is not _same)

    def decode(data: Any) -> Any:
        kwargs = {name: data[name] for name in plain if name in data}
        for name, convert in nested:
            if name in data:
                kwargs[name] = convert(data[name])
        return cls(**kwargs)

    return decode


@functools.cache
def _json_names(cls: type) -> tuple[str, ...]:
    order: tuple[str, ...] | None = getattr(cls, "JSON_ORDER", None)
    return order or tuple(f.name for f in fields(cls))


@functools.cache
def _converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _converter(hints[f.name])) for f in fields(cls))


def _same(value: Any) -> Any:
    return value


@functools.cache
def _converter(tp: Any) -> Callable[[Any], Any]:
    """How JSON data becomes a value of type ``tp``."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        concrete = [a for a in args if a not in (type(None), Unset)]
        if len(concrete) != 1:
            return _same
        inner = _converter(concrete[0])
        return _same if inner is _same else (lambda v: None if v is None else inner(v))
    if is_dataclass(tp) and isinstance(tp, type):
        return lambda v: from_json(tp, v)
    if origin is tuple:
        item = _converter(args[0])
        return tuple if item is _same else (lambda v: tuple(item(x) for x in v))
    if origin is dict:
        value = _converter(args[1])
        return _same if value is _same else (lambda v: {k: value(x) for k, x in v.items()})
    return _same
