"""openapi-core's views of what Schemathesis sent and received, mapped to a spec's server."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import schemathesis
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


class SentRequest:
    """openapi-core's view of the request Schemathesis sent (mapped to the spec's server)."""

    def __init__(self, response: schemathesis.Response, mount: str, host: str) -> None:
        prepared = response.request
        url = urlsplit(prepared.url)
        assert url.path.startswith(mount + "/"), url.path
        self.host_url = host
        self.path = url.path[len(mount) :]
        self.method = prepared.method.lower()
        headers = Headers(list(prepared.headers.items()))
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
            header=headers,
        )
        body = prepared.body
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = headers.get("Content-Type", "")


class ReceivedResponse:
    """openapi-core's view of the response."""

    def __init__(self, response: schemathesis.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers([(k, v) for k, values in response.headers.items() for v in values])
        self.content_type = self.headers.get("Content-Type", "")
        self.data = response.content
