"""What a run used of plug-ins, recorded in its ``run.json`` and checked when it resumes.

A plug-in is any space, evaluator, training strategy, mutation, crossover or proxy that is not evonas's own:
one an installed distribution declares as an entry point, one registered from code, or one named
``module:attr`` on the command line. ``run.json`` lists those a run names under ``plugins`` (kind,
name, ``module:attr`` target, and the distribution and version it came from), only when there are
any, so a run without plug-ins writes ``run.json`` as before. The record describes the run and does
not decide its results (like ``evonas_version``, it is left out of the fingerprint). On resume, a
plug-in that no longer loads is a `ConfigError` naming what to install; one whose version or origin
changed is a warning, and the run goes on with it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from evonas.errors import ConfigError
from evonas.evaluators import EVALUATORS
from evonas.evaluators.strategies import STRATEGIES
from evonas.operators import CROSSOVERS, MUTATIONS
from evonas.proxies import PROXIES
from evonas.registry import Registry, target_of
from evonas.spaces import SPACES

# kind -> its registry, in the order a run's record lists them
REGISTRIES: dict[str, Registry] = {
    "space": SPACES,
    "evaluator": EVALUATORS,
    "strategy": STRATEGIES,
    "mutation": MUTATIONS,
    "crossover": CROSSOVERS,
    "proxy": PROXIES,
}


def named_plugins(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of every registry name the run configuration ``config`` (as in ``run.json``) uses."""
    search, options = config.get("search") or {}, config.get("evaluator_options") or {}
    names = [
        ("space", config.get("space")),
        ("evaluator", config.get("evaluator")),
        ("strategy", options.get("strategy")),
        ("mutation", search.get("mutation")),
        ("crossover", search.get("crossover")),
        ("proxy", options.get("proxy")),
        ("proxy", (config.get("screen") or {}).get("proxy")),
    ]
    return list(dict.fromkeys((kind, name) for kind, name in names if isinstance(name, str)))


# How evonas calls the plug-ins that are plain functions: (positional parameters, keywords) of each kind.
CALLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mutation": (("genotype", "space"), ("rng",)),
    "crossover": (("a", "b", "space"), ("rng",)),
    "proxy": (("network", "batch"), ()),
}


def check_callable(kind: str, name: str, target: Any) -> None:
    """Refuses, as a `ConfigError`, a function plug-in that cannot be called as evonas calls its kind (`CALLS`)."""
    if kind not in CALLS:
        return
    positional, keywords = CALLS[kind]
    usage = f"{kind}({', '.join(positional + tuple(f'{k}=...' for k in keywords))})"
    if not callable(target):
        raise ConfigError(f"the {kind} {name!r} is {target!r}, not a function {usage}")
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # some built-ins have none: they are called and fail then
        return
    try:
        signature.bind(*positional, **dict.fromkeys(keywords))
    except TypeError:
        raise ConfigError(f"the {kind} {name!r} ({target_of(target)}{signature}) cannot be called as {usage}") from None


def plugin_records(config: Mapping[str, Any]) -> list[dict[str, str]]:
    """What ``run.json`` records under ``plugins`` for ``config``: the `Registry.origin` of each plug-in it
    uses, with its kind; empty for a run of evonas's own pieces only. Each plug-in is loaded, so one that
    cannot be is a `ConfigError` before the run writes anything."""
    records = []
    for kind, name in named_plugins(config):
        origin = REGISTRIES[kind].origin(name)
        if origin is not None:
            check_callable(kind, name, REGISTRIES[kind][name])
            records.append({"kind": kind, **origin})
    return records


def describe(record: Mapping[str, Any]) -> str:
    """``module:attr`` of a plug-in record, with the distribution and version it comes from."""
    source = f" from {record['distribution']} {record.get('version', '')}".rstrip() if record.get("distribution") else ""
    return f"{record.get('target', record.get('name'))}{source}"


def check_plugins(recorded: Any, warn: Callable[[str], None] | None = None) -> None:
    """Loads every plug-in a run recorded (``run.json``'s ``plugins``) before it resumes.

    Raises:
        ConfigError: in one line, for a plug-in that cannot be loaded any more, naming the distribution to
            install (or the module to make importable).
    """
    if not recorded:
        return
    if not isinstance(recorded, list) or not all(isinstance(r, dict) and r.get("kind") in REGISTRIES and "name" in r for r in recorded):
        raise ConfigError(f"run.json's plugins record is malformed: {recorded!r}")
    for record in recorded:
        kind, name = record["kind"], record["name"]
        registry = REGISTRIES[kind]
        what = f"this run used the {kind} plug-in {name!r} ({describe(record)})"
        if ":" not in name and name not in registry:
            install = f"install {record['distribution']}" if record.get("distribution") else f"register it again (as {record.get('target')})"
            raise ConfigError(f"{what}, which is not installed: {install} to resume it")
        try:
            registry[name]
        except ConfigError as error:
            hint = f"install {record['distribution']}" if record.get("distribution") else "resume from the folder it is importable from"
            raise ConfigError(f"{what}, which cannot be loaded ({error}): {hint}") from None
        now = registry.origin(name)
        before = {k: v for k, v in record.items() if k != "kind"}
        if now != before and warn is not None:
            current = describe(now) if now else "evonas's own"
            warn(f"the {kind} plug-in {name!r} is {current} now, {describe(before)} when the run started; resuming with it")
