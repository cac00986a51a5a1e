"""Attribute lookup that runs no code of the object's own.

``getattr`` runs whatever the object's class says: properties, ``__getattr__``,
``__getattribute__`` overrides, custom descriptors, a metaclass's properties, and
``classmethod`` chaining to a wrapped ``property`` (Python 3.9-3.12). The Service
rules must never run any of it on a guest's behalf, so ``lookup`` follows Python's
own precedence by reading class and instance dictionaries, and binds only the kinds
whose binding is done in C by the interpreter:

- plain functions (bound to the instance, as Python does), a ``classmethod`` of a
  function or of a callable with no ``__get__``, the builtin method descriptors;
- what a ``staticmethod`` wraps, returned as it is (never bound, so a wrapped
  property comes back as the property object, which is not callable);
- plain values with no ``__get__`` (nested classes, ``functools.partial``, sets...);
- values in the instance's own ``__dict__``, which Python never binds.

Everything else that Python would resolve by running code is ``UNSAFE``: data
descriptors (``property``, slots, custom ones), other descriptors
(``cached_property`` before it is cached, ``partialmethod``, any class with
``__get__``), a classmethod wrapping any of those, a ``__getattribute__`` written in
Python (on the class, or on the metaclass for a class), and a shadowed ``__dict__``.
Builtin types' dictionaries never change, so their lookups are remembered.
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
_TYPE_FLAGS = type.__dict__["__flags__"]
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: builtin types, set by PyType_Ready

FIXED_LOOKUPS_MAX = 4096
_fixed: dict[tuple[type, str], Any] = {}
_UNKNOWN: Any = object()
_FUNCTION = types.FunctionType

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
    return _scan(cls, (name,))[0]


def _scan(cls: type, names: tuple[str, ...]) -> list[Any]:
    """Each of ``names`` along ``cls``'s MRO (one walk), unbound, or MISSING."""
    if _TYPE_FLAGS.__get__(cls) & _IMMUTABLE_TYPE:
        return [_fixed_lookup(cls, name) for name in names]
    found = [MISSING] * len(names)
    for klass in _TYPE_MRO.__get__(cls):
        namespace = _TYPE_DICT.__get__(klass)
        for i, name in enumerate(names):
            if found[i] is MISSING and name in namespace:
                found[i] = namespace[name]
    return found


def _fixed_lookup(cls: type, name: str) -> Any:
    """class_lookup on a builtin type, whose dictionaries never change: remembered
    (up to FIXED_LOOKUPS_MAX, so that guest-chosen names cannot grow it forever)."""
    key = (cls, name)
    found = _fixed.get(key, _UNKNOWN)
    if found is _UNKNOWN:
        found = MISSING
        for klass in _TYPE_MRO.__get__(cls):
            namespace = _TYPE_DICT.__get__(klass)
            if name in namespace:
                found = namespace[name]
                break
        if len(_fixed) < FIXED_LOOKUPS_MAX:
            _fixed[key] = found
    return found


# Kinds whose class is a builtin (never changes) and has no __set__/__delete__, so
# no need to look: by far the most common attributes.
_NOT_DATA = frozenset(
    {
        types.FunctionType,
        types.BuiltinFunctionType,
        types.MethodType,
        staticmethod,
        classmethod,
        type,
        *_C_METHODS,
    }
)


def _has(cls: type, name: str) -> bool:
    return class_lookup(cls, name) is not MISSING


def _is_data_descriptor(attr: object) -> bool:
    kind = type(attr)
    if kind in _NOT_DATA:
        return False
    get, set_, delete = _scan(kind, ("__get__", "__set__", "__delete__"))
    return get is not MISSING and (set_ is not MISSING or delete is not MISSING)


def _plain(getattribute: object) -> bool:
    """Whether the nearest ``__getattribute__`` is the interpreter's (a C slot) rather
    than one written in Python."""
    return type(getattribute) is types.WrapperDescriptorType


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


def _instance_dict(obj: object, attr: Any) -> dict[str, Any] | None | Any:
    """``obj``'s own ``__dict__`` given the class's ``__dict__`` entry ``attr``: None
    if it has none, UNSAFE if a class shadows it with something of its own."""
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
    if kind in _NOT_DATA or not _has(kind, "__get__"):
        return attr
    return UNSAFE  # its __get__ is code of its own


def lookup(obj: object, name: str) -> Any:
    """``getattr(obj, name)`` computed without running the object's code: the value,
    MISSING, or UNSAFE (see the module docstring)."""
    return lookup_all(obj, (name,))[0]


def lookup_all(obj: object, names: tuple[str, ...]) -> list[Any]:
    """``lookup`` of each of ``names``, sharing the walks along the MRO. Never raises
    for ordinary objects; callers still contain exceptions, since a hostile class can
    break any reading."""
    if type(obj) is _FUNCTION and all(_fixed_lookup(_FUNCTION, n) is MISSING for n in names):
        # the commonest Service, a plain function: its class is builtin and binds none
        # of these names, so only its own __dict__ can hold them
        own: dict[str, Any] = obj.__dict__
        return [dict.get(own, name, MISSING) for name in names]
    if is_class(obj):
        assert isinstance(obj, type)  # for mypy: is_class checked the real type
        meta = type(obj)
        getattribute, *meta_attrs = _scan(meta, ("__getattribute__", *names))
        if not _plain(getattribute):
            return [UNSAFE] * len(names)
        return [
            _class_attribute(obj, meta, meta_attr, attr)
            for meta_attr, attr in zip(meta_attrs, _scan(obj, names), strict=True)
        ]
    owner = type(obj)
    getattribute, dict_attr, *attrs = _scan(owner, ("__getattribute__", "__dict__", *names))
    if not _plain(getattribute):
        return [UNSAFE] * len(names)
    namespace = _instance_dict(obj, dict_attr)
    if namespace is UNSAFE:
        return [UNSAFE] * len(names)
    return [
        _instance_attribute(obj, owner, namespace, n, a) for n, a in zip(names, attrs, strict=True)
    ]


def _class_attribute(cls: type, meta: type, meta_attr: Any, attr: Any) -> Any:
    if meta_attr is not MISSING and _is_data_descriptor(meta_attr):
        return UNSAFE  # a metaclass property: it would win, and it is a getter
    if attr is not MISSING:
        return _bind(attr, None, cls)
    return MISSING if meta_attr is MISSING else _bind(meta_attr, cls, meta)


def _instance_attribute(
    obj: object, owner: type, namespace: dict[str, Any] | None, name: str, attr: Any
) -> Any:
    if attr is not MISSING and _is_data_descriptor(attr):
        return UNSAFE
    if namespace is not None:
        value = dict.get(namespace, name, MISSING)
        if value is not MISSING:
            return value  # Python never binds what an instance holds
    return MISSING if attr is MISSING else _bind(attr, obj, owner)
