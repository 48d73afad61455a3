"""HASP Studio handlers (specs/hasp-studio.yaml): thin, over agentyard.hasp.studio."""
