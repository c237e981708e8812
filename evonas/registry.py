"""Name -> plug-in maps for the CLI: each entry is one line naming the module that implements it."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from evonas.errors import ConfigError


class Registry(Mapping[str, Any]):
    """Maps the names users type to plug-in objects, importing a plug-in's module only when asked.

    Entries are ``"package.module:attribute"`` strings, so adding a plug-in is one new module plus
    one line in the family's registry, and listing names never imports torch. An entry may also be
    the object itself (a plug-in registered from user code).

    Args:
        kind: what the entries are ("space", "evaluator", ...), used in error messages.
        entries: name -> ``"module:attribute"`` or the object.
    """

    def __init__(self, kind: str, entries: Mapping[str, Any]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> Any:
        try:
            target = self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None
        if not isinstance(target, str):
            return target
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, name: str, target: Any) -> None:
        """Adds a plug-in from outside the package: ``register("mine", "mypkg.spaces:Mine")`` or
        ``register("mine", Mine)``. Registering the same target again is a no-op; another target under a
        taken name is a `ConfigError`."""
        if name in self._entries and self._entries[name] is not target and self._entries[name] != target:
            raise ConfigError(f"{self.kind} {name!r} is registered already")
        self._entries[name] = target
