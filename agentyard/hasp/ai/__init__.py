"""HASP AI: the inference gateway (`/v1/ai/chat`, the Anthropic-compatible `/v1/messages`) and
what only it uses: model catalog, AI credits, conversations, request texts, inference records.
It builds on the HASP org core (`agentyard.hasp`): orgs, keys, BAA, events, webhooks."""
