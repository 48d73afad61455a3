"""The AISP Hub domain: sessions, messages, memory and grants inside realms."""

SURFACE = "aisp-hub"
