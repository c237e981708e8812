"""Name -> plug-in maps for the CLI: each entry is one line naming the module that implements it.

A family's plug-ins come from three places, in this order of precedence: evonas's own entries (and
those registered from code with `Registry.register`), installed distributions that declare an entry
point in the family's group (``evonas.spaces``, ``evonas.evaluators``, ``evonas.strategies``), and
``module:attr`` names typed on the command line, imported from the installed packages or, failing
that, from the working directory.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from importlib.metadata import Distribution, EntryPoint, distribution, entry_points, packages_distributions
from pathlib import Path
from typing import Any

from evonas.errors import ConfigError


class Registry(Mapping[str, Any]):
    """Maps the names users type to plug-in objects, importing a plug-in's module only when asked.

    Entries are ``"package.module:attribute"`` strings, so adding a plug-in is one new module plus
    one line in the family's registry, and listing names never imports torch (nor an installed
    plug-in: its entry point is read, not loaded). An entry may also be the object itself (a plug-in
    registered from user code). A name that is not registered but reads ``module:attr`` is imported
    as such.

    Args:
        kind: what the entries are ("space", "evaluator", ...), used in error messages.
        entries: name -> ``"module:attribute"`` or the object: evonas's own plug-ins.
        group: the entry-point group through which installed distributions add plug-ins (None: none).
    """

    def __init__(self, kind: str, entries: Mapping[str, Any], *, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._entries = dict(entries)
        self._builtin = frozenset(self._entries)
        self._installed: dict[str, EntryPoint] | None = None

    def installed(self) -> dict[str, EntryPoint]:
        """The plug-ins installed distributions declare in `group`, by name, read once (a name evonas or
        user code registered already keeps its own entry)."""
        if self._installed is None:
            found = entry_points(group=self.group) if self.group else ()
            self._installed = {ep.name: ep for ep in sorted(found, key=lambda ep: ep.name) if ep.name not in self._entries}
        return self._installed

    def refresh(self) -> None:
        """Reads the installed plug-ins again (after a distribution was installed or removed in this process)."""
        self._installed = None

    def __getitem__(self, name: str) -> Any:
        if name in self._entries:
            target = self._entries[name]
            return target if not isinstance(target, str) else _import(target, f"{self.kind} {name!r}")
        if name in self.installed():
            entry = self.installed()[name]
            try:
                return entry.load()
            except Exception as error:  # a plug-in's own import error, whatever it is, is the user's to fix
                raise ConfigError(f"{self.kind} plug-in {name!r} ({entry.value}{_from(entry)}) cannot be loaded: {_reason(error)}") from None
        if ":" in name:
            return _import(name, f"{self.kind} {name!r}")
        raise self._unknown(name)

    def _unknown(self, name: str) -> ConfigError:
        return ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self))} (or module:attr)")

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self.installed()

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from self.installed()

    def __len__(self) -> int:
        return len(self._entries) + len(self.installed())

    def register(self, name: str, target: Any) -> None:
        """Adds a plug-in from outside the package: ``register("mine", "mypkg.spaces:Mine")`` or
        ``register("mine", Mine)``. Registering the same target again is a no-op; another target under a
        taken name is a `ConfigError`."""
        if name in self._entries and self._entries[name] is not target and self._entries[name] != target:
            raise ConfigError(f"{self.kind} {name!r} is registered already")
        self._entries[name] = target
        if self._installed is not None:
            self._installed.pop(name, None)

    def origin(self, name: str) -> dict[str, str] | None:
        """Where the plug-in ``name`` comes from: None for evonas's own; otherwise its name, its ``target``
        (``module:attr``) and, when it belongs to an installed distribution, that ``distribution`` and its
        ``version``. Nothing is imported."""
        if name in self._builtin:
            return None
        if name in self._entries:
            target = self._entries[name]
            if not isinstance(target, str):
                target = target_of(target)
        elif name in self.installed():
            entry = self.installed()[name]
            record = {"name": name, "target": entry.value}
            if entry.dist is not None:
                record.update(distribution=entry.dist.name, version=entry.dist.version)
            return record
        elif ":" in name:
            target = name
        else:
            raise self._unknown(name)
        record = {"name": name, "target": target}
        dist = _distribution_of(target.partition(":")[0])
        if dist is not None:
            record.update(distribution=dist.name, version=dist.version)
        return record


def target_of(obj: Any) -> str:
    """``module:qualified.name`` of a class or function, or of an instance's class."""
    named = obj if hasattr(obj, "__qualname__") else type(obj)
    return f"{named.__module__}:{named.__qualname__}"


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    """Top-level module -> the installed distributions that declare it (read once: it scans every one)."""
    return packages_distributions()


def _distribution_of(module_name: str) -> Distribution | None:
    """The installed distribution whose files hold the top-level package of ``module_name`` as Python would
    import it now (not one that merely declares a package of that name), without importing it."""
    top = module_name.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    where = Path(spec.origin).resolve()
    for dist_name in dict.fromkeys(_distributions().get(top, [])):
        dist = distribution(dist_name)
        if any(Path(dist.locate_file(file)).resolve() == where for file in dist.files or ()):
            return dist
    return None


def _import(target: str, what: str) -> Any:
    """The object ``target`` (``module:attr``, attr may be dotted) names; a `ConfigError` naming ``what`` if it
    cannot be imported. A module that is not installed is looked for in the working directory, as
    ``python -c 'import module'`` run there would find it."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{what}: expected module:attr, got {target!r}")
    try:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            here = os.getcwd()
            if here in sys.path or not _is_within(missing.name, module_name):
                raise
            sys.path.append(here)  # kept: a worker process that unpickles the plug-in imports it from there too
            importlib.invalidate_caches()
            try:
                module = importlib.import_module(module_name)
            except BaseException:
                sys.path.remove(here)
                raise
    except Exception as error:  # the module's own import error, whatever it is, is the user's to fix
        raise ConfigError(f"cannot import {what}: {_reason(error)}") from None
    try:
        return functools.reduce(getattr, attribute.split("."), module)
    except AttributeError:
        raise ConfigError(f"cannot import {what}: module {module_name!r} has no attribute {attribute!r}") from None


def _is_within(missing: str | None, module_name: str) -> bool:
    """Whether the module that was not found is ``module_name`` or one of its parent packages (not a module
    that the plug-in itself imports)."""
    return missing is not None and (module_name == missing or module_name.startswith(missing + "."))


def _reason(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".splitlines())


def _from(entry: EntryPoint) -> str:
    return f" from {entry.dist.name} {entry.dist.version}" if entry.dist is not None else ""
