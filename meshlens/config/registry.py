"""The settings registry: each dataclass field declares its JSON key, parser, help and env.

`setting()` and `section()` are used in `settings.py`; `walk()` flattens the declared tree
into `Setting` rows, from which the loader, the docs and the tests are all driven.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from meshlens.config.values import Parser

T = TypeVar("T")

Origin = Literal["CoreScope", "meshlens"]

ENV_PREFIX = "MESHLENS_"
OWN_SECTION = "meshlens"  # meshlens' own keys live under this JSON object


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What `setting()` attaches to a dataclass field."""

    key: str
    parser: Parser[Any]
    help: str
    origin: Origin
    aliases: tuple[str, ...]  # CoreScope's own environment variable names
    shown_default: str | None


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """What `section()` attaches to a dataclass field that holds a nested section."""

    key: str
    help: str


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the registry: a leaf setting with its full key path."""

    key: str  # JSON key path, e.g. "cacheTTL.analyticsRF"
    attr: str  # attribute path on Settings, e.g. "cache_ttl.analytics_rf_s"
    parser: Parser[Any]
    default: object
    help: str
    origin: Origin
    env: tuple[str, ...]  # MESHLENS_* first, then CoreScope's aliases; the first set wins
    shown_default: str | None


def setting(
    key: str,
    default: T,
    parser: Parser[T],
    help: str,
    *,
    origin: Origin = "CoreScope",
    env: tuple[str, ...] = (),
    shown: str | None = None,
) -> T:
    """Declare a leaf setting on a settings dataclass."""
    spec = FieldSpec(key, parser, help, origin, env, shown)
    if isinstance(default, Mapping):
        # Mappings are not hashable, so dataclasses insist on a factory.
        return field(default_factory=lambda: default, metadata={"setting": spec})
    return field(default=default, metadata={"setting": spec})


def section(key: str, cls: Callable[[], T], help: str) -> T:
    """Declare a nested section (a JSON object) holding more settings."""
    return field(default_factory=cls, metadata={"section": SectionSpec(key, help)})


def derived(default: T, help: str) -> T:
    """Declare a field that no key sets directly (e.g. the rainbow table's contents)."""
    if isinstance(default, Mapping):
        return field(default_factory=lambda: default, metadata={"derived": help})
    return field(default=default, metadata={"derived": help})


def _words(key: str) -> str:
    """camelCase or snake_case to UPPER_SNAKE: analyticsRF -> ANALYTICS_RF."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key)
    return spaced.replace(".", "_").upper()


def env_name(key_path: str) -> str:
    """The MESHLENS_* variable of a key path; meshlens' own keys drop their section name."""
    own = OWN_SECTION + "."
    if key_path.startswith(own):
        key_path = key_path[len(own) :]
    return ENV_PREFIX + "_".join(_words(part) for part in key_path.split("."))


def sections(cls: type[Any]) -> Iterator[tuple[dataclasses.Field[Any], SectionSpec]]:
    """The nested-section fields of a settings dataclass."""
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("section")
        if isinstance(spec, SectionSpec):
            yield f, spec


def leaves(cls: type[Any]) -> Iterator[tuple[dataclasses.Field[Any], FieldSpec]]:
    """The leaf-setting fields of a settings dataclass."""
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("setting")
        if isinstance(spec, FieldSpec):
            yield f, spec


def section_class(f: dataclasses.Field[Any]) -> type[Any]:
    """The dataclass that a section field holds (its default factory)."""
    factory: object = f.default_factory
    assert isinstance(factory, type), f"section {f.name} needs a class as its factory"
    return factory


def _default_of(f: dataclasses.Field[Any]) -> object:
    if f.default is not dataclasses.MISSING:
        return f.default
    factory = f.default_factory
    assert callable(factory), f"field {f.name} has no default"
    return factory()


def walk(cls: type[Any], key_prefix: str = "", attr_prefix: str = "") -> Iterator[Setting]:
    """Flatten a settings dataclass tree into registry rows, in declaration order."""
    for f in dataclasses.fields(cls):
        leaf = f.metadata.get("setting")
        nested = f.metadata.get("section")
        if isinstance(leaf, FieldSpec):
            key = key_prefix + leaf.key
            yield Setting(
                key=key,
                attr=attr_prefix + f.name,
                parser=leaf.parser,
                default=_default_of(f),
                help=leaf.help,
                origin=leaf.origin,
                env=(env_name(key), *leaf.aliases),
                shown_default=leaf.shown_default,
            )
        elif isinstance(nested, SectionSpec):
            yield from walk(
                section_class(f), key_prefix + nested.key + ".", attr_prefix + f.name + "."
            )


def build(cls: Callable[..., T], values: Mapping[str, object], key_prefix: str = "") -> T:
    """Construct a settings tree, taking each leaf from `values` (by key path) when present."""
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cast(type[Any], cls)):
        leaf = f.metadata.get("setting")
        nested = f.metadata.get("section")
        if isinstance(leaf, FieldSpec) and key_prefix + leaf.key in values:
            kwargs[f.name] = values[key_prefix + leaf.key]
        elif isinstance(nested, SectionSpec):
            kwargs[f.name] = build(section_class(f), values, key_prefix + nested.key + ".")
    return cls(**kwargs)
