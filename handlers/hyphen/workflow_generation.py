"""Create a workflow from a prompt: the process, its result and its status."""

from __future__ import annotations

from agentyard.hyphen import ai_generation
from agentyard.hyphen.ai_generation_models import CREATION
from handlers.hyphen.security import caller


def createWorkflowFromAi(body: dict) -> tuple[dict, int]:
    """Generate, then create the workflow, its actions and tables (in the background)."""
    options = {k: body[k] for k in ("name", "description") if body.get(k) is not None}
    row = ai_generation.start(
        caller().org_id, body["prompt"], body.get("llmOptions"), kind=CREATION, options=options
    )
    return {
        "process_id": row.id,
        "status": row.status,
        "message": "Creation started; poll GET /workflows/generation-status/{processId}.",
    }, 202


def getCreateFromAiProcess(process_id: str) -> dict:
    """The create-from-ai process and what it created."""
    row = ai_generation.get(caller().org_id, process_id, kind=CREATION)
    return ai_generation.process_view(row)


def getWorkflowGenerationStatus(process_id: str) -> dict:
    """The create-from-ai process's status."""
    row = ai_generation.get(caller().org_id, process_id, kind=CREATION)
    return ai_generation.process_status_view(row)
