"""LLM providers behind one interface, speaking Anthropic Messages shapes.

`make_provider(kind, ...)` builds one: "offline" (deterministic, no network), "anthropic"
(POST /v1/messages, streams passed through) or "openai" (any chat.completions server,
translated both ways). All raise `UpstreamError`; see `errors` for the status mapping.
`provider()` is the process's provider as the runtime settings describe it (`use_provider()`
replaces it in tests); `dedicated_provider()` gives code with its own event loop its own.
"""

from agentyard.llm.anthropic import AnthropicProvider
from agentyard.llm.base import Provider, UpstreamError
from agentyard.llm.configured import dedicated as dedicated_provider
from agentyard.llm.configured import provider, use_provider
from agentyard.llm.events import MessageAccumulator, accumulate, message_events
from agentyard.llm.factory import PROVIDER_KINDS, make_provider
from agentyard.llm.offline import OfflineProvider
from agentyard.llm.openai_compat import OpenAICompatProvider
from agentyard.llm.retry import RetryPolicy
from agentyard.llm.sse import encode_event
from agentyard.llm.tokens import count_input_tokens, count_tokens

__all__ = [
    "PROVIDER_KINDS",
    "AnthropicProvider",
    "MessageAccumulator",
    "OfflineProvider",
    "OpenAICompatProvider",
    "Provider",
    "RetryPolicy",
    "UpstreamError",
    "accumulate",
    "count_input_tokens",
    "count_tokens",
    "dedicated_provider",
    "encode_event",
    "make_provider",
    "message_events",
    "provider",
    "use_provider",
]
