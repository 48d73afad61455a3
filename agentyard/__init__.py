"""agentyard: a self-hostable, spec-first server for six agent-platform HTTP APIs."""

__version__ = "0.1.0"

import warnings

# Connexion imports starlette.testclient at import time; its httpx notice is not ours to fix.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
