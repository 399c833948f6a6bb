"""Frozen values: the project's dataclasses, defined at a third less cost each.

``@frozen`` is ``@dataclass(frozen=True, slots=True, kw_only=True)``: the same fields, the same
``__init__``, the same frozen assignment guard, the same ``fields``/``replace``/``asdict``, and
``__eq__``, ``__hash__`` and ``__repr__`` (and the order methods with ``order=True``) giving the
same results as the dataclass's own. Only where those come from differs.

A dataclass writes the source of each of its methods when its class is defined and compiles it
(Python 3.11 and 3.12 each method on its own, 3.13 all of a class's in one piece): on the
project's 2-core machine under 3.11 about 0.15 ms a method, 1 ms a class, 40 ms for the classes an
audit or a probe loads before it does any work (a twentieth of a 100-target probe). Comparison,
hash and repr differ between classes only by the names of the fields they read, so they are
written once here, compiled with this module, and each class gets them with its own names.
Its ``__init__`` and its assignment guard are still the dataclass's. Equality follows the running
Python's dataclasses (fields compared as a tuple up to 3.12, one by one from 3.13).

One difference remains, for the eye only: :mod:`pprint` (and pytest's diffs) print a value on one
line, as its ``repr`` does, instead of a field a line, since the dataclass records that it made
neither ``__eq__`` nor ``__repr__``.
"""

from __future__ import annotations

import dataclasses
import sys
from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)

_ORDER = ("__lt__", "__le__", "__gt__", "__ge__")


@overload
def frozen(cls: T, /) -> T: ...


@overload
def frozen(*, order: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True, kw_only_default=True)
def frozen(cls: Any = None, /, *, order: bool = False) -> Any:
    """``@dataclass(frozen=True, slots=True, kw_only=True)`` (``order=True``: with ``<`` and the
    rest), its comparison, hash and repr shared functions (see the module's text)."""

    def wrap(given: type) -> type:
        own = dict(given.__dict__)  # what the class defines itself, before the dataclass
        if order and any(name in own for name in _ORDER):
            raise TypeError(f"{given.__name__} defines an order method and asks for order=True")
        made: type = dataclasses.dataclass(
            frozen=True, slots=True, kw_only=True, eq=False, repr=False
        )(given)
        _share(made, own, order=order)
        return made

    return wrap if cls is None else wrap(cls)


def _share(cls: type, own: dict[str, Any], *, order: bool) -> None:
    """Give ``cls`` what ``dataclass(eq=True, repr=True, order=order)`` would have, as
    :func:`dataclasses.dataclass` decides it (a method the class defines itself is kept)."""
    fields = dataclasses.fields(cls)
    compared = tuple(f.name for f in fields if f.compare)
    if "__repr__" not in own:
        _set(cls, "__repr__", _repr(tuple(f.name for f in fields if f.repr)))
    if "__eq__" not in own:
        _set(cls, "__eq__", _eq(compared))
    # the hash a frozen dataclass with eq adds, unless the class has its own (a class that
    # defines __eq__ without __hash__ has __hash__ None, which does not count as its own)
    explicit = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if not explicit:
        hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        _set(cls, "__hash__", _hash(hashed))
    if order:
        for name, compare in zip(_ORDER, _orders(compared), strict=True):
            _set(cls, name, compare)


def _set(cls: type, name: str, fn: Callable[..., Any]) -> None:
    fn.__name__ = name
    fn.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, fn)


def _key(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``names``' values of an object, as the dataclass's methods build it."""
    if len(names) > 1:
        return attrgetter(*names)  # a tuple already
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


def _eq(names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    if sys.version_info >= (3, 13):
        return _eq_by_field(names)
    key = _key(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _eq_by_field(names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    """Python 3.13's dataclass equality: the same object is equal, else the fields compared one
    by one (``a == a2 and b == b2``: the first false result, or the last one)."""
    getters = tuple(attrgetter(name) for name in names)

    def __eq__(self: Any, other: Any) -> Any:
        if self is other:
            return True
        if other.__class__ is self.__class__:
            result: Any = True
            for get in getters:
                result = get(self) == get(other)
                if not result:
                    return result
            return result
        return NotImplemented

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    key = _key(names)

    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _orders(names: tuple[str, ...]) -> tuple[Callable[[Any, Any], Any], ...]:
    key = _key(names)

    def __lt__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) < key(other)
        return NotImplemented

    def __le__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) <= key(other)
        return NotImplemented

    def __gt__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) > key(other)
        return NotImplemented

    def __ge__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) >= key(other)
        return NotImplemented

    return __lt__, __le__, __gt__, __ge__


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    getters = tuple((f"{name}=", attrgetter(name)) for name in names)
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        # a value that holds itself is shown as "...", as the dataclass's repr does
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            shown = ", ".join(label + repr(get(self)) for label, get in getters)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__
