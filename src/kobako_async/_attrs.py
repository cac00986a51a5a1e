"""Attribute lookup that runs no code of the object's own.

``getattr`` runs whatever the object's class says: properties, ``__getattr__``,
``__getattribute__`` overrides, custom descriptors, a metaclass's properties, and
``classmethod`` chaining to a wrapped ``property`` (Python 3.9-3.12). The Service
rules must never run any of it on a guest's behalf, so ``lookup`` follows Python's
own precedence by reading class and instance dictionaries, and binds only the kinds
whose binding is done in C by the interpreter:

- plain functions (bound to the instance, as Python does), ``staticmethod`` and
  ``classmethod`` of a plain callable, the builtin method descriptors;
- plain values with no ``__get__`` (nested classes, ``functools.partial``, sets...);
- values in the instance's own ``__dict__``, which Python never binds.

Everything else that Python would resolve by running code is ``UNSAFE``: data
descriptors (``property``, slots, custom ones), other descriptors
(``cached_property`` before it is cached, ``partialmethod``, any class with
``__get__``), a ``__getattribute__`` written in Python, a shadowed ``__dict__``, and
a classmethod or staticmethod wrapping any of those.
"""

from __future__ import annotations

import types
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""No attribute of that name is found without running code (``__getattr__`` never runs)."""
UNSAFE: Any = type("Unsafe", (), {"__repr__": lambda self: "UNSAFE"})()
"""Producing the attribute would run code: a getter, a descriptor, an override."""

# The interpreter's own accessors, taken from `type` itself so that no metaclass
# attribute of the same name can stand in for them.
_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_NAME = type.__dict__["__name__"]

# Descriptors implemented in C whose __get__ runs no Python code.
_C_METHODS = (
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    types.WrapperDescriptorType,
)
# Routines as inspect.isroutine sees them, by exact type.
_ROUTINES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.MethodWrapperType,
    *_C_METHODS,
)


def type_name(obj: object) -> str:
    """The name of ``obj``'s class, read without a metaclass's ``__name__``."""
    name = _TYPE_NAME.__get__(type(obj))
    return name if type(name) is str else "?"


def is_class(obj: object) -> bool:
    """Whether ``obj`` is a class (never consults a ``__class__`` property)."""
    return issubclass(type(obj), type)


def class_lookup(cls: type, name: str) -> Any:
    """``name`` in the dictionaries along ``cls``'s MRO, unbound, or MISSING."""
    for klass in _TYPE_MRO.__get__(cls):
        namespace = _TYPE_DICT.__get__(klass)
        if name in namespace:
            return namespace[name]
    return MISSING


def _has(cls: type, name: str) -> bool:
    return class_lookup(cls, name) is not MISSING


def _is_data_descriptor(attr: object) -> bool:
    kind = type(attr)
    return _has(kind, "__get__") and (_has(kind, "__set__") or _has(kind, "__delete__"))


def _plain_getattribute(cls: type) -> bool:
    """Whether attribute access on instances of ``cls`` is the interpreter's own: the
    nearest ``__getattribute__`` is a C slot, not one written in Python."""
    return type(class_lookup(cls, "__getattribute__")) is types.WrapperDescriptorType


def is_routine(obj: object) -> bool:
    """inspect.isroutine, decided from ``obj``'s type alone."""
    kind = type(obj)
    if issubclass(kind, _ROUTINES):
        return True
    # inspect.ismethoddescriptor: what has __get__ and no __set__ (Cython functions)
    return (
        not is_class(obj)
        and callable(obj)
        and _has(kind, "__get__")
        and not _has(kind, "__set__")
        and not issubclass(kind, (staticmethod, classmethod))
    )


def _instance_dict(obj: object) -> dict[str, Any] | None | Any:
    """``obj``'s own ``__dict__``, None if it has none, UNSAFE if a class shadows it."""
    attr = class_lookup(type(obj), "__dict__")
    if attr is MISSING:
        return None
    if type(attr) in (types.GetSetDescriptorType, types.MemberDescriptorType):
        namespace = attr.__get__(obj, type(obj))
        return namespace if isinstance(namespace, dict) else None
    return UNSAFE


def _bind(attr: Any, instance: object | None, owner: type) -> Any:
    """What ``attr`` (found in ``owner``'s MRO) becomes when looked up, or UNSAFE."""
    kind = type(attr)
    if kind is types.FunctionType:
        return attr if instance is None else types.MethodType(attr, instance)
    if kind is staticmethod:
        return attr.__func__  # returned as it is: never bound, never chained
    if kind is classmethod:
        func = attr.__func__
        # from 3.9 to 3.12 classmethod calls a wrapped descriptor's __get__ (a property
        # getter, say): only functions and plain callables are bound here
        if callable(func) and (type(func) is types.FunctionType or not _has(type(func), "__get__")):
            return types.MethodType(func, owner)
        return UNSAFE
    if kind in _C_METHODS:
        return attr.__get__(instance, owner)
    if _has(kind, "__get__"):
        return UNSAFE  # its __get__ is code of its own
    return attr


def lookup(obj: object, name: str) -> Any:
    """``getattr(obj, name)`` computed without running the object's code: the value,
    MISSING, or UNSAFE (see the module docstring). Never raises for ordinary objects;
    callers still contain exceptions, since a hostile class can break any reading."""
    if is_class(obj):
        assert isinstance(obj, type)  # for mypy: is_class checked the real type
        meta = type(obj)
        if not _plain_getattribute(meta):
            return UNSAFE
        meta_attr = class_lookup(meta, name)
        if meta_attr is not MISSING and _is_data_descriptor(meta_attr):
            return UNSAFE  # a metaclass property: it would win, and it is a getter
        attr = class_lookup(obj, name)
        if attr is not MISSING:
            return _bind(attr, None, obj)
        return MISSING if meta_attr is MISSING else _bind(meta_attr, obj, meta)
    owner = type(obj)
    if not _plain_getattribute(owner):
        return UNSAFE
    attr = class_lookup(owner, name)
    if attr is not MISSING and _is_data_descriptor(attr):
        return UNSAFE
    namespace = _instance_dict(obj)
    if namespace is UNSAFE:
        return UNSAFE
    if namespace is not None:
        value = dict.get(namespace, name, MISSING)
        if value is not MISSING:
            return value  # Python never binds what an instance holds
    return MISSING if attr is MISSING else _bind(attr, obj, owner)
