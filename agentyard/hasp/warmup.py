"""What a HASP server does once at start, so that no client's first request pays for it."""

from __future__ import annotations


def start_phi_scanners() -> object:
    """Build the PHI guard now: its scanner processes take seconds to start. Imported lazily,
    since loading the guard would add half a second to every CLI command."""
    from agentyard.phi.guard import get_guard

    return get_guard()
