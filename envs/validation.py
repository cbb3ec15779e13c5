"""Checked settings: every field of a settings dataclass is checked on construction, from its type and its name.

A dataclass opts in by calling ``check_fields(self)`` first thing in ``__post_init__`` (``TaskConfig``,
``PhysicsOptions``, ``HumanConfig``, ``HumanRanges`` and ``EnvOptions`` do). Each field gets a rule from its type
annotation, its name and, where a convention is not enough, its ``metadata``; no field needs code of its own.

Types (from the annotations):
- ``float``: a real number (int or float, not a bool, not a string), finite;
- ``int``: an integer, not a bool and not a float; ``bool``: True or False; ``str``: a string;
- ``tuple[float, float]``: a ``(low, high)`` pair of real numbers with ``low <= high`` (a list is taken as a tuple);
  ``tuple[X, ...]``: a tuple of X (a single string is refused: ``cameras="front"`` is not ``("front",)``);
- a dataclass (``PhysicsOptions``, ``HumanRanges``): an instance of it, or a dict of its fields (recorded configs).

Name conventions (on a number, or on each value of a pair):
- ``w_<term>``: a reward weight, a finite number >= 0;
- ``..._kg``: a mass, > 0; a name holding ``friction``: >= 0;
- a unit suffix (``_m``, ``_s``, ``_hz``, ``_n``, ``_rad``, ``_m_s``, ``_rad_s``, ``_n_s_per_m``): the unit;
  a single quantity with a unit is >= 0 (a distance, duration, rate, force, tolerance or jitter amplitude); a
  ``(low, high)`` range of positions or angles (``_m``, ``_rad``, ``_x_range``) may be negative, any other
  range is >= 0;
- ``..._fraction``, ``..._share``, ``..._probability``, ``coverage_...``: 0 to 1; ``..._percentile``: 0 to 100;
  ``..._scale``: > 0; ``...penalty``: >= 0; an ``int`` (a count): >= 0.

A field declares what a convention cannot say with ``option(default, valid=(low, high), unit=..., doc=...,
choices=...)`` (or ``dataclasses.field(metadata=...)`` with the same keys); ``valid`` may also be a ``Bounds``
for open ends. Errors name the parameter, the value given and what is valid:
``part_mass_kg=(-0.1, 0.12) is out of range; valid: each > 0 kg (masses must be > 0)``.

``describe(cls)`` lists the same rules as ``OptionInfo`` rows (default, unit, valid range, description).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import math
import re
import tokenize
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

INF = math.inf


@dataclass(frozen=True)
class Bounds:
    """An interval of valid numbers: ``low <= x <= high``; ``low_open``/``high_open`` make an end strict."""

    low: float = -INF
    high: float = INF
    low_open: bool = False
    high_open: bool = False

    def contains(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def text(self, unit: str = "") -> str:
        """``30.0 to 150.0 kg``, ``> 0 kg``, ``>= 0``, ``> 0 and <= 1``, ``a finite number``."""
        suffix = f" {unit}" if unit else ""
        low, high = math.isfinite(self.low), math.isfinite(self.high)
        if low and high and not (self.low_open or self.high_open):
            return f"{_number(self.low)} to {_number(self.high)}{suffix}"
        parts = []
        if low:
            parts.append(f"{'>' if self.low_open else '>='} {_number(self.low)}")
        if high:
            parts.append(f"{'<' if self.high_open else '<='} {_number(self.high)}")
        return (" and ".join(parts) + suffix) if parts else f"a finite number{f' ({unit})' if unit else ''}"


POSITIVE = Bounds(0, INF, low_open=True)
NON_NEGATIVE = Bounds(0, INF)
NON_POSITIVE = Bounds(-INF, 0)
UNIT_INTERVAL = Bounds(0, 1)
FINITE = Bounds()

#: field-name suffixes and their units, longest first
UNITS = (
    ("_n_s_per_m", "N s/m"),
    ("_rad_s", "rad/s"),
    ("_m_s", "m/s"),
    ("_kg", "kg"),
    ("_hz", "Hz"),
    ("_rad", "rad"),
    ("_m", "m"),
    ("_s", "s"),
    ("_n", "N"),
    ("_x_range", "m"),
    ("_y_range", "m"),
    ("_z_range", "m"),
)
#: units whose (low, high) ranges are positions or angles, so may be negative
SIGNED_RANGE_UNITS = ("m", "rad")


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    valid: tuple[float, float] | Bounds | None = None,
    unit: str | None = None,
    doc: str | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its valid range (closed ``(low, high)`` or a ``Bounds``), unit, description and,
    for strings, its choices: what the conventions cannot tell."""
    metadata: dict[str, Any] = {}
    if valid is not None:
        metadata["valid"] = valid
    if unit is not None:
        metadata["unit"] = unit
    if doc is not None:
        metadata["doc"] = doc
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


# ------------------------------------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Rule:
    """What one field accepts. ``kind``: real, int, bool, str, tuple, nested or any."""

    name: str
    kind: str
    type_text: str
    unit: str = ""
    bounds: Bounds | None = None  # numbers, or each number of a tuple
    reason: str = ""  # the convention behind ``bounds``, said in errors
    choices: tuple[str, ...] = ()
    item: str = ""  # a tuple's item kind: real, int or str
    length: int | None = None  # a tuple's fixed length; None: any
    ordered: bool = False  # a (low, high) pair: low <= high
    nested: type | None = None
    optional: bool = False
    doc: str = ""

    def valid_text(self) -> str:
        """What is valid, in words."""
        if self.kind == "nested":
            return f"a {self.nested.__name__} (or a dict of its fields)"
        if self.kind == "bool":
            return "True or False"
        if self.choices:
            return "one of: " + ", ".join(self.choices)
        if self.kind == "str":
            return "a string"
        if self.kind == "any":
            return "any value"
        if self.kind == "tuple":
            item = {"real": "numbers", "int": "integers", "str": "strings"}.get(self.item, "values")
            if self.ordered:
                shape = "(low, high) with low <= high"
            elif self.length:
                shape = f"{self.length} {item}"
            else:
                shape = f"a tuple of {item}"
            if self.bounds is None:
                return shape
            return f"{shape}, each {self.bounds.text(self.unit)}"
        text = self.bounds.text(self.unit)
        return f"an integer {text}" if self.kind == "int" else text

    def _bounds_text(self) -> str:
        text = self.bounds.text(self.unit)
        return f"{text} ({self.reason})" if self.reason else text

    # ------------------------------------------------------------------------------ checking
    def check(self, value: Any) -> Any:
        """The value, normalised (a list to a tuple, a dict to its dataclass); a bad one raises naming it."""
        if value is None and self.optional:
            return value
        if self.kind == "nested":
            return self._check_nested(value)
        if self.kind == "tuple":
            return self._check_tuple(value)
        if self.kind == "any":
            return value
        self._check_scalar(value, self.kind, value)
        return value

    def _check_scalar(self, x: Any, kind: str, whole: Any) -> None:
        """One value (``whole`` is the field's value: ``x`` itself, or the tuple holding it)."""
        given = f"{self.name}={whole!r}" + ("" if x is whole else f" holds {x!r}, which")
        if kind == "bool":
            if not isinstance(x, bool | np.bool_):
                raise TypeError(f"{given} has type {type(x).__name__}; expected True or False")
            return
        if kind == "str":
            if not isinstance(x, str):
                raise TypeError(f"{given} has type {type(x).__name__}; expected a string")
            if self.choices and x not in self.choices:
                raise ValueError(f"{self.name}={whole!r} is not valid; valid: {', '.join(self.choices)}")
            return
        if kind == "int":
            if isinstance(x, bool | np.bool_) or not isinstance(x, int | np.integer):
                raise TypeError(f"{given} has type {type(x).__name__}; expected an integer")
        elif isinstance(x, bool | np.bool_) or not isinstance(x, int | float | np.integer | np.floating):
            raise TypeError(f"{given} has type {type(x).__name__}; expected a real number")
        number = _as_float(x)
        if self.bounds is not None and not self.bounds.contains(number):
            what = (
                "is out of range"
                if math.isfinite(number) or isinstance(x, int | np.integer)
                else "is not a finite number"
            )
            each = "each " if x is not whole else ""
            raise ValueError(f"{self.name}={whole!r} {what}; valid: {each}{self._bounds_text()}")

    def _check_tuple(self, value: Any) -> tuple:
        name = self.name
        if isinstance(value, str | bytes) or not isinstance(value, tuple | list | np.ndarray):
            example = "(low, high)" if self.ordered else "a tuple"
            hint = f", e.g. {name}=({value!r},)" if isinstance(value, str) and self.item == "str" else ""
            raise TypeError(f"{name}={value!r} has type {type(value).__name__}; expected {example}{hint}")
        value = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
        if self.length is not None and len(value) != self.length:
            raise ValueError(f"{name}={value!r} has {len(value)} values; valid: {self.valid_text()}")
        if self.item != "any":
            for x in value:
                self._check_scalar(x, self.item, value)
        if self.ordered and not value[0] <= value[1]:
            raise ValueError(f"{name}={value!r} is not valid; valid: (low, high) with low <= high")
        return value

    def _check_nested(self, value: Any) -> Any:
        cls = self.nested
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):  # a recorded config, read back from JSON
            valid = {f.name for f in dataclasses.fields(cls) if f.init}
            unknown = sorted(set(value) - valid)
            if unknown:
                raise TypeError(
                    f"{self.name}: unknown field(s) {', '.join(unknown)} for {cls.__name__}; "
                    f"valid: {', '.join(sorted(valid))}"
                )
            return cls(**value)
        raise TypeError(
            f"{self.name}={value!r} has type {type(value).__name__}; expected a {cls.__name__}, "
            f"e.g. {self.name}={cls.__name__}(...)"
        )


def _as_float(x: Any) -> float:
    try:
        return float(x)
    except OverflowError:  # an int beyond any float
        return math.inf if x > 0 else -math.inf


def _number(x: float) -> str:
    text = repr(float(x)) if isinstance(x, float) else repr(x)
    return text if len(text) <= 10 else f"{x:.6g}"


def _words(name: str) -> set[str]:
    return set(name.split("_"))


def _unit_of(name: str) -> str:
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def convention(name: str, pair: bool) -> tuple[Bounds, str, str]:
    """(bounds, unit, reason) that a number (or each number of a (low, high) pair) named ``name`` follows."""
    unit = _unit_of(name)
    words = _words(name)
    if name.startswith("w_"):
        return NON_NEGATIVE, unit, "reward weights are finite and >= 0"
    if unit == "kg":
        return POSITIVE, unit, "masses must be > 0"
    if any("friction" in word for word in words):
        return NON_NEGATIVE, unit, "frictions must be >= 0"
    if words & {"fraction", "share", "probability", "coverage"}:
        return UNIT_INTERVAL, unit, "a fraction"
    if "percentile" in words:
        return Bounds(0, 100), unit, "a percentile"
    if name.endswith("_scale"):
        return POSITIVE, unit, "a scale factor"
    if "penalty" in words:
        return NON_NEGATIVE, unit, "a penalty's size"
    if unit:
        if pair and unit in SIGNED_RANGE_UNITS:
            return FINITE, unit, ""
        what = "ranges of" if pair else ""
        return NON_NEGATIVE, unit, f"{what} {_QUANTITY.get(unit, 'quantities')} are >= 0".strip()
    return FINITE, unit, ""


_QUANTITY = {
    "m": "distances",
    "s": "durations",
    "Hz": "rates",
    "N": "forces",
    "rad": "angles",
    "m/s": "speeds",
    "rad/s": "angular speeds",
    "N s/m": "dampings",
}


def _type_text(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")


def rule_for(field: dataclasses.Field, hint: Any, doc: str = "", metadata: Mapping[str, Any] | None = None) -> Rule:
    """The rule of one dataclass field with its resolved type annotation (``metadata``: the field's own, else
    what a base class declared for the same name)."""
    name = field.name
    meta = field.metadata if metadata is None else metadata
    optional = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0] if len(args) == 1 else Any
        origin = typing.get_origin(hint)
    valid = meta.get("valid")
    bounds = Bounds(*valid) if isinstance(valid, tuple) else valid
    common = {"name": name, "type_text": _type_text(hint), "optional": optional, "doc": meta.get("doc", doc)}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Rule(kind="nested", nested=hint, **common)
    if hint is bool:
        return Rule(kind="bool", **common)
    if hint is str:
        return Rule(kind="str", choices=tuple(meta.get("choices", ())), **common)
    if hint in (int, float):
        kind = "int" if hint is int else "real"
        default_bounds, unit, reason = convention(name, pair=False)
        if kind == "int" and default_bounds == FINITE:
            default_bounds, reason = NON_NEGATIVE, "a count"
        if bounds is not None:
            reason = ""
        return Rule(kind=kind, bounds=bounds or default_bounds, unit=meta.get("unit", unit), reason=reason, **common)
    if origin is tuple:
        args = typing.get_args(hint)
        variable = len(args) == 2 and args[1] is Ellipsis
        item_type = args[0] if args else Any
        item = {float: "real", int: "int", str: "str"}.get(item_type, "any")
        length = None if variable or not args else len(args)
        ordered = length == 2 and item == "real"
        if item in ("real", "int"):
            default_bounds, unit, reason = convention(name, pair=ordered)
            if bounds is not None:
                reason = ""
            bounds = bounds or default_bounds
        else:
            unit, reason = "", ""
        return Rule(
            kind="tuple",
            item=item,
            length=length,
            ordered=ordered,
            bounds=bounds,
            unit=meta.get("unit", unit),
            reason=reason,
            choices=tuple(meta.get("choices", ())),
            **common,
        )
    return Rule(kind="any", **common)


@functools.cache
def rules(cls: type) -> tuple[Rule, ...]:
    """The rules of every init field of the dataclass ``cls``, in field order."""
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    return tuple(
        rule_for(f, hints.get(f.name, Any), comments.get(f.name, ""), _inherited_metadata(cls, f))
        for f in dataclasses.fields(cls)
        if f.init
    )


def _inherited_metadata(cls: type, field: dataclasses.Field) -> Mapping[str, Any]:
    """A field's metadata; a subclass that only changes a default (``episode_steps: int = 300``) keeps what the
    base class declared."""
    if field.metadata:
        return field.metadata
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base):
            for f in dataclasses.fields(base):
                if f.name == field.name and f.metadata:
                    return f.metadata
    return field.metadata


def check_fields(obj: Any) -> None:
    """Check every field of the (frozen) dataclass ``obj`` against its rule, normalising lists to tuples and dicts
    to their dataclasses in place; the first bad field raises ValueError or TypeError naming it."""
    for rule in rules(type(obj)):
        value = getattr(obj, rule.name)
        checked = rule.check(value)
        if checked is not value:
            object.__setattr__(obj, rule.name, checked)


# ------------------------------------------------------------------------------------------------ describing
@dataclass(frozen=True)
class OptionInfo:
    """One setting of a config: what ``embodia info`` lists.

    ``name`` is the keyword (dotted inside a nested dataclass: ``physics.timestep_s`` is set with
    ``physics=PhysicsOptions(timestep_s=...)``); ``valid`` says the accepted values in words (``bounds`` and
    ``choices`` say them for code); ``unit`` is empty for a plain number.
    """

    name: str
    type: str
    default: Any
    unit: str
    valid: str
    description: str
    bounds: Bounds | None = None
    choices: tuple[str, ...] = ()


def describe(cls: type, nested: bool = True, prefix: str = "", instance: Any = None) -> list[OptionInfo]:
    """Every init field of the dataclass ``cls`` as an ``OptionInfo``, in field order; ``nested``: the fields of
    nested dataclasses follow their parent, dotted. ``instance``: the values to show as defaults (a nested
    field's defaults are its parent's default value's, which a config may set apart from the class's own:
    BlanketCover's ``physics.timestep_s``, BedBathing's ``human.structure.posture``)."""
    rows: list[OptionInfo] = []
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for rule in rules(cls):
        field = fields[rule.name]
        if instance is not None:
            default = getattr(instance, rule.name)
        elif field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = None
        description = rule.doc or _generated_doc(rule)
        rows.append(
            OptionInfo(
                name=prefix + rule.name,
                type=rule.type_text,
                default=default,
                unit=rule.unit,
                valid=rule.valid_text(),
                description=description,
                bounds=rule.bounds,
                choices=rule.choices,
            )
        )
        if nested and rule.kind == "nested":
            parent = default if isinstance(default, rule.nested) else None
            rows.extend(describe(rule.nested, nested, f"{prefix}{rule.name}.", parent))
    return rows


def _generated_doc(rule: Rule) -> str:
    """A description from the naming conventions, for a field whose source says nothing."""
    name, words = rule.name, _words(rule.name)
    if name.startswith("w_"):
        return f"weight of the dense reward term '{name[2:]}'"
    if rule.kind == "nested":
        return (rule.nested.__doc__ or "").strip().split("\n")[0]
    if rule.ordered and rule.unit == "kg":
        return "mass range (low, high), drawn per episode"
    if rule.ordered and "friction" in name:
        what = "friction force" if rule.unit == "N" else "friction coefficient"
        return f"{what} range (low, high), drawn per episode"
    if rule.kind == "real" and words & {"jitter", "yaw"}:
        return "placement jitter: drawn uniformly within +/- this per episode"
    if rule.kind == "real" and "tolerance" in words:
        return "tolerance of the success check"
    return ""


_FIELD = re.compile(r"^\s+(\w+)\s*:")


def _field_comments(cls: type) -> dict[str, str]:
    """Descriptions written beside fields in the source: a trailing ``# ...`` or ``#: ...`` lines above,
    gathered over the class and its bases (the nearest class wins)."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
            comments = {
                token.start[0]: (token.start[1], token.string)
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT
            }
        except (OSError, TypeError, SyntaxError, tokenize.TokenError):
            continue
        pending: list[str] = []
        for number, line in enumerate(source.splitlines(), start=1):
            column, comment = comments.get(number, (len(line), ""))
            code = line[:column]
            if not code.strip() and comment.startswith("#:"):
                pending.append(comment[2:].strip())
                continue
            field = _FIELD.match(code)
            if field and comment.startswith("#") and not comment.startswith("# noqa"):
                found[field.group(1)] = comment.lstrip("#:").strip()
            elif field and pending:
                found[field.group(1)] = " ".join(pending)
            pending = []
    return found
