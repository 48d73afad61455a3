"""Handlers of the HASP org runtime (`hasp-runtime`)."""
