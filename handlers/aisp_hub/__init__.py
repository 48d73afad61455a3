"""AISP Hub handlers: parse the request, call agentyard.aisp, shape the response."""
