"""Search spaces: one module per space, one line per space in `SPACES`."""

from __future__ import annotations

import functools

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
)


@functools.cache
def get_space(name: str) -> SearchSpace:
    """The (shared, stateless) instance of the space registered as ``name``."""
    return SPACES[name]()
