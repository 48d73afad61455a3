"""How HASP signs its webhook deliveries, registered with core's delivery engine at import.

Every HASP delivery carries two signatures a receiver checks with the endpoint's one secret
(`whsec_...`):

- `X-Hasp-Signature-256: sha256=<hex>`: HMAC-SHA256 keyed with the UTF-8 bytes of the whole
  secret string (`whsec_` included) over the raw request body, e.g.
  `hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()`; `verify_hasp_signature()`.
  During a rotation grace period only the current secret signs it.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`): core's
  `webhooks.STANDARD`, one signature per secret.

`X-Hasp-Webhook-Id` and `webhook-id` both carry the delivery id. The `User-Agent` is
`Hasp-Webhook/1.0`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from agentyard.core import webhooks as deliveries

PRODUCT = "hasp"
USER_AGENT = "Hasp-Webhook/1.0"
ID_HEADER = "X-Hasp-Webhook-Id"
SIGNATURE_HEADER = "X-Hasp-Signature-256"


def hasp_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of body, keyed with the secret string's UTF-8 bytes>`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_hasp_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether an `X-Hasp-Signature-256` header value signs `body` with `secret`."""
    if not header:
        return False
    return hmac.compare_digest(hasp_signature(secret, body), header.strip())


def hasp_scheme(secrets: Sequence[str], body: bytes, msg_id: str, timestamp: int) -> dict[str, str]:
    """HASP's own headers: the delivery id and the current secret's body signature."""
    return {ID_HEADER: msg_id, SIGNATURE_HEADER: hasp_signature(secrets[0], body)}


SCHEMES: dict[str, deliveries.Scheme] = {"hasp": hasp_scheme, "standard": deliveries.STANDARD}

deliveries.register_product(PRODUCT, user_agent=USER_AGENT, schemes=SCHEMES)
