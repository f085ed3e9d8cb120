"""Subclasses of ``Counter``, ``Gauge`` and ``Histogram``, as prometheus_client allows them.

Two things differ from a plain Python class, and this module bridges both:

- A vumeter family is built (and registered) in ``__new__``: its native part is
  immutable. A subclass's ``__init__`` may call ``super().__init__(...)`` with other
  arguments than the caller gave (a fixed namespace, extra labels). So when a subclass
  defines ``__init__``, its ``__new__`` first runs that ``__init__`` on a throwaway,
  unregistered *probe* until it reaches the library's ``__init__``, which hands back the
  arguments it was given; the real family is built from those, and then Python runs the
  subclass's ``__init__`` on it as usual. Code before the ``super().__init__`` call thus
  runs twice, once on the probe.
- A labelled child is a native child object, not an instance of the family's class. For
  each family subclass a child class is made that carries the subclass's methods, so
  that an overridden ``inc`` or ``observe`` applies to children as with
  prometheus_client; zero-argument ``super()`` in them resolves to the child's base.
  A child starts with a copy of the family's instance attributes (prometheus_client
  runs the subclass's ``__init__`` for each child, which gives them the same attributes),
  and ``isinstance(child, Subclass)`` holds (``vumeter._family.FamilyType``).

Unsubclassed metrics take none of these paths: their classes and hot paths are untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import CellType, FunctionType
from typing import Any

# Names a child class must not take from its family class.
_NOT_COPIED = frozenset(
    (
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__slots__",
        "__init__",
        "__new__",
        "__init_subclass__",
        "__classcell__",
        "__firstlineno__",
        "__static_attributes__",
        "__orig_bases__",
        "__parameters__",
        "__signature__",
        "_child_class",
    )
)

# ids of the probes whose ``__init__`` is running (a probe is alive until it finishes).
_PROBES: set[int] = set()


class _Captured(BaseException):
    """Raised by the library's ``__init__`` on a probe, carrying its arguments. A
    BaseException so that a subclass's ``except Exception`` does not swallow it."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.kwargs = kwargs


def is_probe(family: object) -> bool:
    """Whether ``family`` is a probe, on which the library's ``__init__`` raises
    :func:`captured` to stop the subclass's ``__init__``."""
    return id(family) in _PROBES


def captured(arguments: dict[str, Any]) -> BaseException:
    """The exception that hands the library ``__init__``'s ``arguments`` (its
    ``locals()``) to :func:`building_new`."""
    return _Captured({k: v for k, v in arguments.items() if k != "self"})


def building_new(base: type, signature_of: Callable[..., Any]) -> Any:
    """A ``__new__`` for a subclass that defines ``__init__``: builds the family from the
    arguments the subclass's ``__init__`` passes to the library's (``base``'s)."""
    base_new: Callable[..., Any] = base.__new__

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        # Labelled, so that it has no series: in multi-process mode a series would be
        # placed in this process's cell file and show in every merged scrape.
        probe = base_new(cls, "vumeter_subclass_probe", "", ("probe",), registry=None)
        _PROBES.add(id(probe))
        try:
            cls.__init__(probe, *args, **kwargs)  # type: ignore[misc]
        except _Captured as captured:
            return base_new(cls, **captured.kwargs)
        finally:
            _PROBES.discard(id(probe))
        # The subclass's __init__ never called the library's: build from the call's own.
        return base_new(cls, *args, **kwargs)

    # inspect.signature(cls) reads __new__ first: show the subclass's __init__ signature.
    init = inspect.signature(signature_of)
    cls_parameter = inspect.Parameter("cls", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __new__.__signature__ = init.replace(  # type: ignore[attr-defined]
        parameters=[cls_parameter, *list(init.parameters.values())[1:]]
    )
    return staticmethod(__new__)


class SubclassChild:
    """Base of the child classes made for family subclasses: instance attributes (so a
    child has a ``__dict__``) copied from the family when the child is made."""

    def __init__(self, family: object, values: object) -> None:
        # No super().__init__(): the native base takes its arguments in __new__ only.
        self.__dict__.update(getattr(family, "__dict__", {}))


def _rebound(value: Any, old: type, new: type) -> Any:
    """``value`` (a class attribute) with zero-argument ``super()`` pointing at ``new``
    instead of ``old``; values that do not use it are returned as they are."""
    if isinstance(value, classmethod | staticmethod):
        return type(value)(_rebound(value.__func__, old, new))
    if isinstance(value, property):
        fget, fset, fdel = (
            _rebound(f, old, new) if f else None for f in (value.fget, value.fset, value.fdel)
        )
        return property(fget, fset, fdel, value.__doc__)
    if not isinstance(value, FunctionType) or "__class__" not in value.__code__.co_freevars:
        return value
    closure = list(value.__closure__ or ())
    index = value.__code__.co_freevars.index("__class__")
    if closure[index].cell_contents is not old:
        return value
    closure[index] = CellType(new)
    copy = FunctionType(
        value.__code__, value.__globals__, value.__name__, value.__defaults__, tuple(closure)
    )
    copy.__kwdefaults__ = value.__kwdefaults__
    copy.__qualname__ = value.__qualname__
    copy.__doc__ = value.__doc__
    copy.__annotations__ = value.__annotations__
    copy.__dict__.update(value.__dict__)
    return copy


def child_class(family_class: type, family_base: type) -> type:
    """The child class for ``family_class``, a subclass of the library family class
    ``family_base``: its bases mirror ``family_class``'s (each family class replaced by
    its child class, plain mixins kept), and it carries ``family_class``'s own methods."""
    bases: list[type] = []
    for base in family_class.__bases__:
        if issubclass(base, family_base):
            bases.append(base._child_class)  # type: ignore[attr-defined]
        else:
            bases.append(base)
    if not any(issubclass(b, SubclassChild) for b in bases):
        bases.insert(0, SubclassChild)
    namespace = {
        "__module__": family_class.__module__,
        "__qualname__": f"{family_class.__qualname__}.Child",
        "__doc__": f"One labelled series of a :class:`{family_class.__qualname__}`.",
    }
    child = type(f"{family_class.__name__}Child", tuple(bases), namespace)
    for name, value in vars(family_class).items():
        if name not in _NOT_COPIED:
            setattr(child, name, _rebound(value, family_class, child))
    return child


def prepare_subclass(cls: type, family_base: type) -> None:
    """Sets up a new subclass of the library family class ``family_base``."""
    if "__init__" in vars(cls) and "__new__" not in vars(cls):
        cls.__new__ = building_new(family_base, vars(cls)["__init__"])  # type: ignore[method-assign]
    cls._child_class = child_class(cls, family_base)  # type: ignore[attr-defined]
