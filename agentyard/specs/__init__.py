"""Spec tooling: walk the operations of specs/*.yaml, scaffold handlers, publish documents.

Used by `codegen.py` (scaffolds and `--check`), by the app (the served `openapi.json|yaml`)
and by `agentyard specs export`. Nothing here imports a surface's domain code.
"""
