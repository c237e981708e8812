"""The population manager and the pieces its search is composed of (`evonas.populations.pipeline`)."""

from evonas.populations.gene_model import GeneModelProposal
from evonas.populations.manager import PopulationManager, SearchOptions
from evonas.populations.pipeline import Filter, Offspring, Pipeline, Proposal, Survival
from evonas.populations.predictor import PredictorFilter
from evonas.populations.proposals import LocalSearch, Sampling, Selection, Variation, neutral_neighbours
from evonas.populations.screening import ProxyScreen, ScreenOptions

__all__ = [
    "Filter",
    "GeneModelProposal",
    "LocalSearch",
    "Offspring",
    "Pipeline",
    "PopulationManager",
    "PredictorFilter",
    "Proposal",
    "ProxyScreen",
    "Sampling",
    "ScreenOptions",
    "SearchOptions",
    "Selection",
    "Survival",
    "Variation",
    "neutral_neighbours",
]
