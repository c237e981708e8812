"""Exceptions that evonas raises for bad input; the CLI turns each into one line and exit code 2."""

from __future__ import annotations


class EvonasError(Exception):
    """Base of every error caused by the user's input or files rather than by a bug."""


class ConfigError(EvonasError, ValueError):
    """An option, objective, constraint or plug-in name that cannot be used."""


class ArchitectureError(EvonasError, ValueError):
    """A string or genotype that is not an architecture of the search space."""


class TableError(EvonasError):
    """A benchmark table that is missing, malformed or lacks an architecture."""


class CheckpointError(EvonasError):
    """A run directory that cannot be created, trusted or resumed."""


class SpaceExhaustedError(EvonasError):
    """Every architecture of the search space has been evaluated already."""


class ClusterError(EvonasError):
    """A Dask or Ray cluster that cannot be reached, or was lost during a run."""
