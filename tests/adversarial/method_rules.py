"""Bound objects of many shapes and, written out by hand, which of their names a
script may call: the method rules of SECURITY.md ("Services expose exactly what you
bind") as a table, independent of ``_services.resolve_method``.

The rules the table follows:

- a name that is empty, starts with ``_``, or names something every object or class
  has (``mro``, ``__class__``, ...) is refused; ``call`` on a function or lambda
  calls it;
- only callables found without running code: properties, ``cached_property``, slots,
  any descriptor with a ``__get__`` of its own (data or not), a ``classmethod``
  wrapping a property, and plain data are refused, and no getter ever runs;
- ``__kobako_allowed__`` (a set of names, or a predicate) narrows the rest; it is read
  from the class (for a class bound as itself, its own) or the instance's own dict,
  never through ``__getattr__``.

Every reachable method returns ``["called", shape, name, args, kwargs]``; every piece of
user code that must never run on a script's behalf appends to ``RAN``.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Any, Literal

RAN: list[str] = []
"""What user code ran that the rules should have kept from running."""

Verdict = Literal["called", "refused"]


def _marker(shape: str, name: str) -> Any:
    def method(*args: Any, **kwargs: Any) -> list[Any]:
        return ["called", shape, name, list(args), kwargs]

    return method


class _Getter:
    """A custom non-data descriptor (only ``__get__``) that is also callable, so a rule
    that looks only at ``callable`` would run its ``__get__``."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        RAN.append(self.label + "()")

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        RAN.append(self.label)
        return _marker("getter", self.label)


class _DataDescriptor(_Getter):
    """A custom data descriptor: ``__get__`` and ``__set__``."""

    def __set__(self, obj: Any, value: Any) -> None:
        RAN.append(self.label + "=")


def _property(label: str) -> property:
    def getter(self: Any) -> Any:
        RAN.append(label)
        return _marker("property", label)

    return property(getter)


class Plain:
    """An instance with methods, properties, descriptors and data."""

    def __init__(self) -> None:
        self.data = 5
        self.__dict__["text"] = "secret"

    def ping(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Inst", "ping", list(args), kwargs]

    def get_total(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Inst", "get_total", list(args), kwargs]

    @classmethod
    def make(cls, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Inst", "make", list(args), kwargs]

    @staticmethod
    def util(*args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Inst", "util", list(args), kwargs]

    def _helper(self, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("_helper")
        return []

    def __custom__(self, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("__custom__")
        return []

    prop = _property("prop")
    getter = _Getter("getter")
    described = _DataDescriptor("described")
    LIMIT = 10

    @functools.cached_property
    def cached(self) -> Any:
        RAN.append("cached")
        return _marker("cached", "cached")


class Slotted:
    """An instance with ``__slots__``: a slot is a member descriptor."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = _marker("slot", "value")

    def ping(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Slots", "ping", list(args), kwargs]


class Factory:
    """A class bound as itself: its classmethods and staticmethods are its API."""

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Klass", "create", list(args), kwargs]

    @staticmethod
    def build(*args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Klass", "build", list(args), kwargs]

    @staticmethod
    def _secret(*args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("_secret")
        return []

    prop = _property("Klass.prop")
    getter = _Getter("Klass.getter")
    VERSION = "1.0"


class Narrowed:
    """An instance narrowed by a set on its class."""

    __kobako_allowed__ = frozenset({"ping", "prop", "_helper"})

    def ping(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Allowed", "ping", list(args), kwargs]

    def pong(self, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("pong")
        return []

    def _helper(self, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("Allowed._helper")
        return []

    prop = _property("Allowed.prop")


class Predicated:
    """An instance narrowed by a predicate (a staticmethod) on its class."""

    __kobako_allowed__ = staticmethod(lambda name: name.startswith("get_"))

    def get_x(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Pred", "get_x", list(args), kwargs]

    def set_x(self, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("set_x")
        return []


class NarrowedFactory:
    """A class bound as itself, narrowed by its own ``__kobako_allowed__``."""

    __kobako_allowed__ = frozenset({"make"})

    @classmethod
    def make(cls, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "AllowedKlass", "make", list(args), kwargs]

    @classmethod
    def unmake(cls, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("unmake")
        return []


class SelfNarrowed:
    """An instance that sets ``__kobako_allowed__`` in its own dict: it narrows."""

    def __init__(self) -> None:
        self.__kobako_allowed__ = frozenset({"ping"})

    def ping(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "SelfAllowed", "ping", list(args), kwargs]

    def pong(self, *args: Any, **kwargs: Any) -> list[Any]:
        RAN.append("SelfAllowed.pong")
        return []


class Dynamic:
    """An instance whose ``__getattr__`` answers every name: it must never run."""

    def ping(self, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Dyn", "ping", list(args), kwargs]

    def __getattr__(self, name: str) -> Any:
        RAN.append(f"__getattr__({name})")
        return _marker("Dyn", name)


class _Meta(type):
    @property
    def meta(cls) -> Any:
        RAN.append("meta")
        return _marker("Meta", "meta")


class WithMeta(metaclass=_Meta):
    """A class whose metaclass has a property."""

    @classmethod
    def ok(cls, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Meta", "ok", list(args), kwargs]


class ChainedProperty:
    """A classmethod wrapping a property (Python 3.9-3.12 chain them: the getter runs)."""

    @classmethod  # type: ignore[misc]
    @property
    def chained(cls) -> Any:
        RAN.append("chained")
        return _marker("Chained", "chained")

    @classmethod
    def ok(cls, *args: Any, **kwargs: Any) -> list[Any]:
        return ["called", "Chained", "ok", list(args), kwargs]


def _function(*args: Any, **kwargs: Any) -> list[Any]:
    return ["called", "Func", "call", list(args), kwargs]


def _module() -> types.ModuleType:
    module = types.ModuleType("kobako_fuzz_shapes")
    module.ping = _marker("Mod", "ping")  # type: ignore[attr-defined]
    module._hidden = _marker("Mod", "_hidden")  # type: ignore[attr-defined]
    module.VALUE = 3  # type: ignore[attr-defined]
    return module


SHAPES: dict[str, Any] = {
    "Func": _function,
    "Lambda": lambda *args, **kwargs: ["called", "Lambda", "call", list(args), kwargs],
    "Inst": Plain(),
    "Slots": Slotted(),
    "Klass": Factory,
    "Allowed": Narrowed(),
    "Pred": Predicated(),
    "AllowedKlass": NarrowedFactory,
    "SelfAllowed": SelfNarrowed(),
    "Dyn": Dynamic(),
    "Meta": WithMeta,
    "Chained": ChainedProperty,
    "Mod": _module(),
}
"""Bound as ``Shapes::<key>``."""


@dataclass(frozen=True)
class Rule:
    shape: str
    name: str
    verdict: Verdict


def _rules(shape: str, called: str = "", refused: str = "") -> list[Rule]:
    rules = [Rule(shape, n, "called") for n in called.split()]
    return rules + [Rule(shape, n, "refused") for n in refused.split()]


RULES: list[Rule] = [
    *_rules("Func", called="call", refused="ping __call__ __code__ __globals__ __get__"),
    *_rules("Lambda", called="call", refused="__call__ __closure__"),
    *_rules(
        "Inst",
        called="ping get_total make util",
        refused="_helper __custom__ prop cached data text LIMIT __init__ call getter described"
        " __reduce_ex__ __getattribute__ __setattr__ __dict__ __class__",
    ),
    *_rules("Slots", called="ping", refused="value __slots__ __init__"),
    *_rules(
        "Klass",
        called="create build",
        refused="_secret prop getter VERSION mro __subclasses__ __init_subclass__ __new__"
        " __call__ __instancecheck__ __prepare__ call",
    ),
    *_rules("Allowed", called="ping", refused="pong prop _helper"),
    *_rules("Pred", called="get_x", refused="set_x get_y"),
    *_rules("AllowedKlass", called="make", refused="unmake mro"),
    *_rules("SelfAllowed", called="ping", refused="pong"),
    *_rules("Dyn", called="ping", refused="anything call"),
    *_rules("Meta", called="ok", refused="meta mro"),
    *_rules("Chained", called="ok", refused="chained"),
    *_rules("Mod", called="ping", refused="_hidden VALUE __name__ __dict__ __loader__"),
]

REFUSED_EVERYWHERE = (
    "",
    "_",
    "__class__",
    "__dict__",
    "__init__",
    "__new__",
    "__reduce__",
    "__reduce_ex__",
    "__getattribute__",
    "__setattr__",
    "__delattr__",
    "__subclasses__",
    "__sizeof__",
    "__dir__",
    "__format__",
    "__repr__",
    "__str__",
    "__eq__",
    "__hash__",
    "__init_subclass__",
    "__subclasshook__",
    "__kobako_allowed__",
    "__getattr__",
    "__wrapped__",
    "__self__",
    "__func__",
    "mro",
)
"""Names refused on every shape: private, dunder, or what every object or class has."""


def verdict(shape: str, name: str) -> Verdict:
    """The oracle: the verdict for ``name`` on ``shape``.

    A name the table does not list for the shape is refused: none of the shapes has a
    public attribute the table leaves out (``Dyn``'s ``__getattr__`` never runs).
    """
    for rule in RULES:
        if rule.shape == shape and rule.name == name:
            return rule.verdict
    return "refused"
