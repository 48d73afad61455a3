"""Harnesslayer domain: apps, versioned bundles, profiles, states, channels, responses."""

SURFACE = "harnesslayer"
