"""Torch networks of the search spaces (stand-alone and weight-sharing); imported only when a network is built,
so table-driven searches never load torch."""
