"""/v1/blobs (agentyard extension): the signed upload and download URLs; no API key, the
token is the credential."""

from __future__ import annotations

import hashlib

from connexion import request
from starlette.responses import Response

from agentyard.core import aio
from agentyard.harnesslayer import bundles
from agentyard.harnesslayer.auth import rate_limit


def surface_base() -> str:
    """This surface's base URL as the client called it (`http://host:port/harnesslayer`, or
    the bare origin with `--surface harnesslayer`): the root of the signed URLs we answer."""
    url = request.url
    path = url.path
    return f"{url.scheme}://{url.netloc}{path[: path.find('/v1/')]}"


async def uploadBlob(token: str) -> tuple[None, int]:
    """The body is streamed to disk as it arrives (not buffered: see `Surface.body_limits`)."""
    await aio.run_blocking(rate_limit, "token", hashlib.sha256(token.encode()).hexdigest())
    await bundles.receive(token, request.stream())
    return None, 204


def downloadBlob(token: str) -> Response:
    rate_limit("token", hashlib.sha256(token.encode()).hexdigest())
    data, filename = bundles.download_archive(token)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
