"""The HASP AI panel of the operator console: the latest inferences of every org with their PHI
findings as entity types and counts (never the values, never the prompts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentyard.core import clock
from agentyard.core.console_panels import Panel, register
from agentyard.core.keys import Tenant
from agentyard.hasp.ai.models import InferenceRecord


def findings(phi: Any) -> str:
    """`PERSON×2, PHONE_NUMBER×1` from a record's PHI summary ("none" when nothing was found)."""
    if not isinstance(phi, dict):
        return "none"
    counts = phi.get("counts")
    if isinstance(counts, dict) and counts:
        return ", ".join(f"{kind}×{n}" for kind, n in sorted(counts.items()))
    kinds = phi.get("entity_types")
    if isinstance(kinds, list) and kinds:
        return ", ".join(str(kind) for kind in sorted(kinds))
    return "none"


def latest(limit: int) -> Sequence[Sequence[Any]]:
    rows = (
        InferenceRecord.select(InferenceRecord, Tenant)
        .join(Tenant)
        .order_by(InferenceRecord.created_at.desc(), InferenceRecord.id.desc())
        .limit(limit)
    )
    return [
        (
            clock.iso(r.created_at),
            r.tenant.name,
            f"req_{r.id}",
            r.model,
            f"{r.provider}{' (offline)' if r.offline else ''}",
            r.status,
            r.input_tokens + r.output_tokens,
            (r.phi or {}).get("action", "") if isinstance(r.phi, dict) else "",
            findings(r.phi),
        )
        for r in rows
    ]


register(
    Panel(
        id="hasp-ai-inferences",
        title="HASP AI: recent inferences and their PHI findings",
        columns=(
            "at",
            "org",
            "request",
            "model",
            "provider",
            "status",
            "tokens",
            "PHI action",
            "PHI found (types × count)",
        ),
        rows=latest,
    )
)
