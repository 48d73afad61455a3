"""AI workflow generation: start a generation, its status, its result."""

from __future__ import annotations

from agentyard.hyphen import ai_generation
from handlers.hyphen.security import caller


def generateWorkflow(body: dict) -> tuple[dict, int]:
    """Generate a workflow draft (in the background)."""
    row = ai_generation.start(caller().org_id, body["prompt"], body.get("llmOptions"))
    return {
        "generation_id": row.id,
        "status": row.status,
        "message": "Generation started; poll GET /ai/generate-workflow/{generation_id}/status.",
    }, 202


def getGenerationStatus(generation_id: str) -> dict:
    """Generation status."""
    return ai_generation.status_view(ai_generation.get(caller().org_id, generation_id))


def getGeneration(generation_id: str) -> dict:
    """Generation result."""
    return ai_generation.result_view(ai_generation.get(caller().org_id, generation_id))
