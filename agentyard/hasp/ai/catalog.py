"""The models HASP AI serves, their credit weights and list prices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from agentyard.core import clock
from agentyard.core.errors import ApiError, not_found
from agentyard.hasp import orgs

DEFAULT_MODEL = "claude-sonnet-4-6"
OPUS = "claude-opus-4-6"


@dataclass(frozen=True)
class Model:
    id: str
    display_name: str
    weight: float  # credits (Sonnet-equivalent tokens) per token
    usd_in: float  # list price per million input tokens
    usd_out: float  # list price per million output tokens
    released: dt.datetime

    def credits(self, tokens: int) -> int:
        """Credits for `tokens` tokens, rounded up."""
        return -(-int(tokens * self.weight * 100) // 100)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        return round((input_tokens * self.usd_in + output_tokens * self.usd_out) / 1e6, 6)


MODELS = {
    m.id: m
    for m in (
        Model("claude-opus-4-6", "Claude Opus 4.6", 5.0, 15.0, 75.0, dt.datetime(2026, 2, 5)),
        Model("claude-sonnet-4-6", "Claude Sonnet 4.6", 1.0, 3.0, 15.0, dt.datetime(2026, 2, 17)),
        Model("claude-haiku-4-5", "Claude Haiku 4.5", 0.33, 1.0, 5.0, dt.datetime(2025, 10, 15)),
    )
}


def available(opus_enabled: bool) -> list[Model]:
    """The models an org may use, newest first."""
    models = sorted(MODELS.values(), key=lambda m: m.released, reverse=True)
    return [m for m in models if opus_enabled or m.id != OPUS]


def resolve(model_id: str, opus_enabled: bool) -> Model:
    """The model `model_id`; 404 when unknown, 403 OPUS_NOT_ENABLED for Opus without opt-in."""
    model = MODELS.get(model_id)
    if model is None:
        raise not_found("model", message=f"model: {model_id} is not a known model")
    if model.id == OPUS and not opus_enabled:
        raise ApiError(
            403,
            "OPUS_NOT_ENABLED",
            f"{OPUS} requires an explicit opt-in for your organization",
        )
    return model


def view(model: Model) -> dict[str, Any]:
    """Anthropic's model object."""
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": clock.iso(model.released),
    }


# Other HASP surfaces name models through the org core (Studio's project policies).
orgs.register_models(lambda opus_enabled: [m.id for m in available(opus_enabled)])
