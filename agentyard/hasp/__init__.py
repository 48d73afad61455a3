"""The HASP products' domain: the AI inference gateway and its control plane (hasp-ai)."""

SURFACE = "hasp-ai"
