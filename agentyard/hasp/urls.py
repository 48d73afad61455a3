"""Paths this surface hands out — download links, hints in messages — with its mount prefix.

The HASP AI surface answers at `/v1/...` under a mount that depends on how it is served:
`/hasp-ai/v1/...` in the combined server, `/v1/...` with `--surface hasp-ai`. The security
function records the mount of every authenticated request (`remember`), read from the path the
client called, so a path the server emits (`path`) works on the server that emitted it.
"""

from __future__ import annotations

from agentyard.core import request_context

_KEY = "hasp_mount"
API_ROOT = "/v1/"


def mount_of(request_path: str) -> str:
    """The mount prefix of a request path of this surface (`/hasp-ai`, or "" at the root)."""
    at = request_path.find(API_ROOT)
    return request_path[:at] if at > 0 else ""


def remember(request_path: str) -> None:
    """Record the mount of the running request (called once the caller is authenticated)."""
    info = request_context.current()
    if info is not None:
        info.values[_KEY] = mount_of(request_path)


def path(api_path: str) -> str:
    """`api_path` (`/v1/...`) as the running request's client reaches it: mount included."""
    info = request_context.current()
    mount = info.values.get(_KEY, "") if info is not None else ""
    return f"{mount}{api_path}"
