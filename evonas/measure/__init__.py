"""Measurements of built networks: size, FLOPs and latency."""
