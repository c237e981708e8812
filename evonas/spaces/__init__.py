"""Search spaces: one module per space, one line per space in `SPACES`."""

from __future__ import annotations

import functools

from evonas.errors import ConfigError
from evonas.registry import Registry
from evonas.spaces.base import Gene, SearchSpace

__all__ = ["SPACES", "Gene", "SearchSpace", "get_space"]

SPACES = Registry(
    "space",
    {
        "nb201": "evonas.spaces.nb201:NB201Space",
        "macro": "evonas.spaces.macro:MacroSpace",
        "mobile": "evonas.spaces.mobile:MobileSpace",
        "surgery": "evonas.spaces.surgery:SurgerySpace",
    },
    group="evonas.spaces",
)
# Spaces loaded as ``module:attr`` by their own name, which their genotypes carry (`Genotype.space`).
_LOADED: dict[str, SearchSpace] = {}


@functools.cache
def get_space(name: str) -> SearchSpace:
    """The (shared, stateless) instance of the space registered as ``name`` (an installed plug-in's name, or
    ``module:attr`` naming a `SearchSpace` class or instance), or of a space loaded so under its own name."""
    if name not in SPACES and name in _LOADED:
        return _LOADED[name]
    target = SPACES[name]
    if isinstance(target, type) and issubclass(target, SearchSpace):
        space = target()
    elif isinstance(target, SearchSpace):
        space = target
    else:
        raise ConfigError(f"space {name!r} is {target!r}, not a subclass or an instance of evonas.spaces.SearchSpace")
    _LOADED.setdefault(space.name, space)
    return space
