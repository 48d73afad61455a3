"""Shared test helpers for every surface (see tests/kit/README in __init__)."""
