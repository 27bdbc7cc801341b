"""Experiments that run the whole platform end to end (see experiments/hidden_preference)."""
