"""Hyperparameters, declared once: type, allowed values, default and meaning, checked when built.

Every model's ``Config`` subclass declares each field with ``param``::

    @dataclass(frozen=True)
    class ALSConfig(Config):
        factors: int = param(128, low=1, high=1024, help="length of each person's and film's vector")
        solver: Literal["cg", "cholesky"] = param("cg", help="...")

The field's annotation gives the type (``int``, ``float``, ``bool``, ``str``, a ``Literal`` of
choices, ``X | None``, or a ``dict`` of another model's hyperparameters); ``param`` adds the
range and a one-line meaning. Building a config checks every value against its declaration and
raises ``ValueError`` naming the field and what is allowed (``epochs must be a whole number in
1..1000, got -1``), so a negative epoch count or a misspelt choice never reaches a fit.
``Config.declarations()`` lists the declarations for whatever shows or sets hyperparameters (the
CLI, the app's Lab, the manifest): nobody keeps a second list.

One vocabulary across models where the meaning is the same: ``factors`` (embedding length),
``epochs`` (full passes over the training data: gradient epochs, ALS iterations, PMF sweeps),
``regularization`` (the L2 penalty's strength), ``lr`` (a gradient step size), ``seed``.
"""

from __future__ import annotations

import json
import math
import types
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, Self, Union, cast, get_args, get_origin, get_type_hints

META_KEY = "movienight.param"

ParamType = Literal["int", "float", "bool", "str", "dict"]


@dataclass(frozen=True)
class Param:
    """One hyperparameter's declaration.

    ``type`` is the plain type; ``choices`` (from a ``Literal`` annotation) the allowed values;
    ``low``/``high`` the inclusive range of a number (``low_open``: the low end itself is not
    allowed, e.g. a learning rate must be above 0); ``optional``: None is allowed too (it then
    means what ``help`` says, e.g. "fitted on validation data"); ``quick``: the value a quick
    benchmark run (CI) uses instead of the default, where the default would be slow.
    """

    name: str
    type: ParamType
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    quick: Any = None

    def allowed(self) -> str:
        """What is allowed, in words: "a whole number in 1..100", "one of 'cg', 'cholesky'"."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.type == "bool":
            text = "true or false"
        elif self.type == "dict":
            text = "a mapping of hyperparameter names to values"
        elif self.type == "str":
            text = "text"
        else:
            noun = "a whole number" if self.type == "int" else "a number"
            text = noun + self._range()
        return text + (" or None" if self.optional else "")

    def _range(self) -> str:
        low, high = self.low, self.high
        if low is None and high is None:
            return ""
        if self.type == "int" and not self.low_open:
            if high is None:
                return f" ≥ {_num(low)}"
            return f" in {_num(low)}..{_num(high)}" if low is not None else f" ≤ {_num(high)}"
        left = "(" if self.low_open else "["
        lo = "-inf" if low is None else _num(low)
        hi = "inf" if high is None else _num(high)
        return f" in {left}{lo}, {hi}]" if high is not None else f" in {left}{lo}, inf)"

    def check(self, value: Any) -> Any:
        """``value`` if it is allowed (ints widened to float for float fields), else ValueError."""
        if value is None and self.optional:
            return None
        if self.choices is not None:
            if value not in self.choices or isinstance(value, bool) != isinstance(
                self.choices[0], bool
            ):
                raise self._error(value)
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise self._error(value)
            return value
        if self.type == "str":
            if not isinstance(value, str):
                raise self._error(value)
            return value
        if self.type == "dict":
            if not isinstance(value, dict):
                raise self._error(value)
            mapping = cast(dict[object, Any], value)
            if not all(isinstance(key, str) for key in mapping):
                raise self._error(value)
            return mapping
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._error(value)
        if self.type == "int" and not isinstance(value, int):
            raise self._error(value)
        number = value if self.type == "int" else float(value)
        if not math.isfinite(number) or not self._in_range(number):
            raise self._error(value)
        return number

    def _in_range(self, number: float) -> bool:
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        return self.high is None or number <= self.high

    def _error(self, value: Any) -> ValueError:
        return ValueError(f"{self.name} must be {self.allowed()}, got {value!r}")


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


def param(
    default: Any = MISSING,
    *,
    help: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    quick: Any = None,
    factory: Any = MISSING,
) -> Any:
    """A dataclass field carrying its declaration (see ``Param``); ``factory`` for a mutable
    default (a dict). The type and any ``Literal`` choices come from the field's annotation."""
    metadata = {
        META_KEY: {"help": help, "low": low, "high": high, "low_open": low_open, "quick": quick}
    }
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _describe(annotation: Any) -> tuple[ParamType, tuple[Any, ...] | None, bool]:
    """(type, choices, optional) of a field annotation."""
    optional = False
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"hyperparameter annotation {annotation!r} is not supported")
        annotation = args[0]
        origin = get_origin(annotation)
    if origin is Literal:
        choices = get_args(annotation)
        plain = "bool" if isinstance(choices[0], bool) else type(choices[0]).__name__
        return cast(ParamType, plain), choices, optional
    if origin is dict or annotation is dict:
        return "dict", None, optional
    if annotation in (int, float, bool, str):
        return cast(ParamType, annotation.__name__), None, optional
    raise TypeError(f"hyperparameter annotation {annotation!r} is not supported")


@dataclass(frozen=True)
class Config:
    """Hyperparameters; each model subclasses this (also ``frozen``) with its own ``param``
    fields. Checked when built (``__post_init__``) and immutable after, so an invalid config
    cannot exist; ``dataclasses.replace`` makes a changed copy, checked again."""

    _declarations: ClassVar[dict[type, tuple[Param, ...]]] = {}
    # Saved manifests outlive names: ``RENAMED`` maps a name an older manifest may carry to
    # today's, and ``RETIRED`` names (settings a model no longer has) are dropped on load.
    RENAMED: ClassVar[dict[str, str]] = {}
    RETIRED: ClassVar[frozenset[str]] = frozenset()

    seed: int = param(
        0, low=0, high=2**32 - 1, help="random seed: the same seed gives the same fit"
    )

    def __post_init__(self) -> None:
        for spec in self.declarations():
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name)))

    @classmethod
    def declarations(cls) -> tuple[Param, ...]:
        """Every hyperparameter of this config: name, type, range or choices, default, meaning."""
        cached = Config._declarations.get(cls)
        if cached is not None:
            return cached
        hints = get_type_hints(cls)
        out: list[Param] = []
        for f in fields(cls):
            meta = f.metadata.get(META_KEY)
            if meta is None:
                raise TypeError(f"{cls.__name__}.{f.name} is not declared with param()")
            plain, choices, optional = _describe(hints[f.name])
            if f.default is not MISSING:
                default = f.default
            elif f.default_factory is not MISSING:
                default = f.default_factory()
            else:
                default = None
            out.append(
                Param(
                    name=f.name,
                    type=plain,
                    default=default,
                    choices=choices,
                    optional=optional,
                    **meta,
                )
            )
        Config._declarations[cls] = result = tuple(out)
        return result

    @classmethod
    def quick_overrides(cls) -> dict[str, Any]:
        """The values a quick benchmark run (CI) sets: ``quick`` of every declaration that has one."""
        return {p.name: p.quick for p in cls.declarations() if p.quick is not None}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """A config from saved or typed values; older names are renamed or dropped (see
        ``RENAMED`` and ``RETIRED``), any other unknown name is refused."""
        values = {
            cls.RENAMED.get(name, name): value
            for name, value in values.items()
            if name not in cls.RETIRED
        }
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(
                f"unknown hyperparameters for {cls.__name__}: {sorted(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**values)


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["factors=32", "lr=0.01"]`` → ``{"factors": 32, "lr": 0.01}`` (values parsed as JSON when they can be)."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


__all__ = ["Config", "Param", "param", "parse_params"]
