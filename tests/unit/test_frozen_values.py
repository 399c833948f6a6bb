"""``@frozen`` gives every class what ``@dataclass(frozen=True, slots=True, kw_only=True)`` gives
it: checked against the dataclass itself, for every such class of the package, and for the
dataclass options a class may use."""

from __future__ import annotations

import dataclasses
import importlib
import operator
import pkgutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import mratrust
from mratrust.values import frozen

_ORDER = ("__lt__", "__le__", "__gt__", "__ge__")


def _frozen_classes() -> list[type]:
    """Every class of the package made by ``@frozen`` (every module imported)."""
    for info in pkgutil.walk_packages(mratrust.__path__, "mratrust."):
        if info.name != "mratrust.__main__":  # the command itself, run on import
            importlib.import_module(info.name)
    found: dict[int, type] = {}
    for name, module in list(sys.modules.items()):
        if name != "mratrust" and not name.startswith("mratrust."):
            continue
        for obj in vars(module).values():
            eq = getattr(obj, "__dict__", {}).get("__eq__") if isinstance(obj, type) else None
            if getattr(eq, "__module__", None) == "mratrust.values" and obj.__module__ == name:
                found[id(obj)] = obj
    return sorted(found.values(), key=lambda c: (c.__module__, c.__qualname__))


def _reference(cls: type, *, order: bool) -> type:
    """``cls``'s fields (with their compare/hash/repr options) in a class the dataclass itself
    makes, under the same name."""
    spec = [
        (f.name, f.type, dataclasses.field(compare=f.compare, hash=f.hash, repr=f.repr))
        for f in dataclasses.fields(cls)
    ]
    made: type = dataclasses.make_dataclass(
        cls.__name__, spec, frozen=True, slots=True, kw_only=True, order=order
    )
    made.__qualname__ = cls.__qualname__
    return made


def _instance(cls: type, values: dict[str, Any]) -> Any:
    obj = object.__new__(cls)
    for name, v in values.items():
        object.__setattr__(obj, name, v)
    return obj


_NAN = float("nan")


def _value_sets(names: list[str]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of field values: equal ones, each field changed alone (up and down, to an equal
    value of another type, to a NaN, the same NaN on both sides, to an unhashable list)."""
    base = {n: (i, f"v{i}") for i, n in enumerate(names)}
    yield base, dict(base)
    shared = [1]
    for n in names:
        yield base, {**base, n: (base[n][0] + 1, "z")}
        yield base, {**base, n: (base[n][0] - 1, "a")}
        yield {**base, n: 1}, {**base, n: 1.0}
        yield {**base, n: True}, {**base, n: 1}
        yield {**base, n: _NAN}, {**base, n: _NAN}
        yield {**base, n: float("nan")}, {**base, n: float("nan")}
        yield {**base, n: shared}, {**base, n: shared}
        yield {**base, n: [1]}, {**base, n: [1]}


def _outcome(fn: Any, *args: Any) -> Any:
    """What ``fn(*args)`` gives, or the type of the exception it raises."""
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc)


def _answers(a: Any, b: Any, *, order: bool) -> dict[str, Any]:
    """How ``a`` compares with ``b`` and with itself, and hashes."""
    out = {
        "==": _outcome(operator.eq, a, b),
        "!=": _outcome(operator.ne, a, b),
        "== itself": _outcome(operator.eq, a, a),
        "hash": _outcome(hash, a),
        "repr": _outcome(repr, a),
    }
    if order:
        out.update({op: _outcome(getattr(operator, op.strip("_")), a, b) for op in _ORDER})
    return out


def _differences(cls: type, reference: type, *, order: bool) -> list[str]:
    """Where ``cls`` and ``reference`` answer differently (repr, ==, hash, order)."""
    names = [f.name for f in dataclasses.fields(cls)]
    out: list[str] = []
    for left, right in _value_sets(names):
        mine = _answers(_instance(cls, left), _instance(cls, right), order=order)
        theirs = _answers(_instance(reference, left), _instance(reference, right), order=order)
        out.extend(
            f"{what} of {left} and {right}: {mine[what]!r} != {theirs[what]!r}"
            for what in mine
            if mine[what] != theirs[what]
        )
        if _instance(cls, left).__eq__(object()) is not NotImplemented:
            out.append("== with another type")
    return out


CLASSES = _frozen_classes()


def test_the_package_defines_its_values_with_frozen() -> None:
    names = {f"{c.__module__}.{c.__qualname__}" for c in CLASSES}
    assert len(CLASSES) >= 100
    assert {"mratrust.model.Finding", "mratrust.model.Subject", "mratrust.topology.UcLeg"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_class_answers_as_its_dataclass_would(cls: type) -> None:
    order = all(
        getattr(cls.__dict__.get(op), "__module__", "") == "mratrust.values" for op in _ORDER
    )
    assert _differences(cls, _reference(cls, order=order), order=order) == []
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen and "__slots__" in cls.__dict__
    assert all(f.kw_only for f in dataclasses.fields(cls))


def test_a_subclass_is_never_equal_to_its_parent() -> None:
    """``UcLeg`` extends ``Leg``: as with the dataclass, a value of one is never equal to a value
    of the other, whatever the fields (each answers NotImplemented)."""
    from mratrust.topology import Leg, UcLeg

    assert issubclass(UcLeg, Leg) and UcLeg in CLASSES and Leg in CLASSES
    shared = {f.name: i for i, f in enumerate(dataclasses.fields(Leg))}
    parent = _instance(Leg, shared)
    child = _instance(UcLeg, {**{f.name: -1 for f in dataclasses.fields(UcLeg)}, **shared})
    assert Leg.__eq__(parent, child) is NotImplemented
    assert UcLeg.__eq__(child, parent) is NotImplemented
    assert parent != child and child != parent

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class RefParent:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class RefChild(RefParent):
        b: int

    @frozen
    class Parent:
        a: int

    @frozen
    class Child(Parent):
        b: int

    assert (Parent(a=1) == Child(a=1, b=2)) == (RefParent(a=1) == RefChild(a=1, b=2)) is False
    RefChild.__qualname__ = Child.__qualname__
    assert _differences(Child, RefChild, order=False) == []


def test_negative_twin_a_different_class_is_told_apart() -> None:
    """The comparison above notices a class whose equality, hash or repr differ."""

    @frozen
    class Pair:
        a: int
        b: str = dataclasses.field(compare=False, repr=False)

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Other:  # compares and shows b as well
        a: int
        b: str

    Other.__qualname__ = Pair.__qualname__
    found = _differences(Pair, Other, order=False)
    assert any(d.startswith("repr") for d in found)
    assert any(d.startswith("==") for d in found)
    assert _differences(Pair, _reference(Pair, order=False), order=False) == []


def test_field_options_and_own_methods_are_kept() -> None:
    @frozen
    class Opts:
        a: int
        b: int = dataclasses.field(default=0, compare=False)
        c: int = dataclasses.field(default=0, repr=False)
        d: int = dataclasses.field(default=0, hash=False)

    x, y = Opts(a=1, b=2, c=3, d=4), Opts(a=1, b=9, c=3, d=4)
    assert repr(x) == "test_field_options_and_own_methods_are_kept.<locals>.Opts(a=1, b=2, d=4)"
    assert x == y and hash(x) == hash((1, 3)) == hash(y)  # b: not compared, d: not hashed
    assert x != Opts(a=1, c=3, d=5) and hash(Opts(a=1, c=3, d=5)) == hash(x)

    @frozen
    class Own:
        a: int

        def __repr__(self) -> str:
            return "own"

        def __hash__(self) -> int:
            return 7

    assert repr(Own(a=1)) == "own" and hash(Own(a=1)) == 7 and Own(a=1) == Own(a=1)

    @frozen
    class OwnEq:
        a: int

        def __eq__(self, other: object) -> bool:
            return True

    # __eq__ of its own, no __hash__: the dataclass still adds its hash
    assert OwnEq(a=1) == OwnEq(a=2) and hash(OwnEq(a=1)) == hash((1,))


def test_frozen_keyword_only_replace_and_order() -> None:
    @frozen(order=True)
    class Ranked:
        major: int
        minor: int = 0

    r = Ranked(major=1, minor=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.major = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Ranked(1, 2)  # type: ignore[misc]
    assert dataclasses.replace(r, minor=5) == Ranked(major=1, minor=5)
    assert dataclasses.asdict(r) == {"major": 1, "minor": 2}
    assert sorted([Ranked(major=2), r, Ranked(major=1)]) == [Ranked(major=1), r, Ranked(major=2)]
    assert Ranked(major=1) < r <= r and r > Ranked(major=1) >= Ranked(major=1)
    with pytest.raises(TypeError):
        assert r < 3  # type: ignore[operator]
    with pytest.raises(TypeError, match="order method"):

        @frozen(order=True)
        class Clash:
            a: int

            def __lt__(self, other: object) -> bool:
                return True


def test_a_value_that_holds_itself_is_shown_with_dots() -> None:
    @frozen
    class Box:
        items: list[Any]

    box = Box(items=[])
    box.items.append(box)
    assert repr(box).endswith("Box(items=[...])")


def test_a_frozen_class_compiles_half_the_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes ``@frozen`` cheaper: the dataclass writes and compiles the source of __init__
    and of the assignment guard only, where ``@dataclass`` writes six methods (up to Python 3.12
    it compiles each on its own; from 3.13 all of a class's in one piece)."""
    import re

    compiled: list[str] = []
    real_exec = exec

    def counting_exec(source: Any, *args: Any) -> None:
        compiled.append(str(source))
        real_exec(source, *args)

    monkeypatch.setattr(dataclasses, "exec", counting_exec, raising=False)

    def methods() -> list[str]:
        found = re.findall(r"def (__\w+__)\(", "".join(compiled))
        compiled.clear()
        return sorted(name for name in found if name != "__create_fn__")

    @frozen
    class Cheap:
        a: int
        b: str

    cheap = methods()

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Dear:
        a: int
        b: str

    assert cheap == ["__delattr__", "__init__", "__setattr__"]
    assert methods() == ["__delattr__", "__eq__", "__hash__", "__init__", "__repr__", "__setattr__"]
    assert Cheap(a=1, b="x") == Cheap(a=1, b="x")
