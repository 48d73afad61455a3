"""Client-supplied URLs: `read_url(url, own_prefixes)` loads the bytes behind one of
agentyard's own download URLs (`<prefix><token>`), or a URL under a configured `fetch_allow`
prefix, fetched through `netguard` (public addresses only unless `fetch_allow_private`, no
redirects, size and time capped); anything else is refused."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from agentyard.core import netguard
from agentyard.core.blobs.configuration import config, store
from agentyard.core.blobs.errors import RefusedURLError, TooLargeError
from agentyard.core.blobs.uploads import redeem_download
from agentyard.core.tokens import TOKEN_SHAPE

FETCH_TIMEOUT = 30.0


def _origin_path(url: str) -> tuple[tuple[str, str, int], str, str] | None:
    """((scheme, host, port), path, query) of a clean http(s) URL; None for anything odd
    (credentials, a fragment, backslashes, `.` or `..` segments, even percent-encoded)."""
    if not isinstance(url, str) or len(url) > netguard.MAX_URL_LENGTH:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.fragment or "#" in url:
        return None
    path = parts.path or "/"
    decoded = unquote(path)
    if "\\" in decoded or any(segment in (".", "..") for segment in decoded.split("/")):
        return None
    default = 443 if scheme == "https" else 80
    return (scheme, parts.hostname.lower().rstrip("."), port or default), path, parts.query


def _under(url: str, prefix: str) -> tuple[str, str] | None:
    """(rest of the path after `prefix`, query) when `url` is under `prefix` (same origin;
    a prefix ending in `/` covers everything below it, otherwise only itself)."""
    target, base = _origin_path(url), _origin_path(prefix)
    if target is None or base is None or target[0] != base[0]:
        return None
    path, root = target[1], base[1]
    if not root.endswith("/"):
        return ("", target[2]) if path == root else None
    return (path[len(root) :], target[2]) if path.startswith(root) else None


def token_from_url(url: str, prefixes: Iterable[str]) -> str | None:
    """The token of an agentyard URL `<prefix><token>` (no query) for one of `prefixes`."""
    for prefix in prefixes:
        found = _under(url, prefix)
        if found is not None and not found[1] and TOKEN_SHAPE.fullmatch(found[0]):
            return found[0]
    return None


def fetch_allowed(url: str) -> bool:
    """Whether `url` is under a configured `fetch_allow` prefix, i.e. `fetch()` may try it
    (a check before accepting the URL; `fetch()` still refuses hosts resolving to non-public
    addresses)."""
    return any(_under(url, prefix) is not None for prefix in config().fetch_allow)


def fetch(
    url: str,
    *,
    max_bytes: int | None = None,
    timeout: float = FETCH_TIMEOUT,
    resolver: netguard.Resolver | None = None,
) -> bytes:
    """GET `url` if it is under a configured `fetch_allow` prefix, through `netguard`.

    Public addresses only (plus `fetch_allow_private`), https unless the prefix is http,
    no redirects, at most `max_bytes` (default `max_archive_bytes`) within `timeout` seconds.
    Raises `RefusedURLError` (refused or failed) or `TooLargeError`.
    """
    cfg = config()
    cap = cfg.max_archive_bytes if max_bytes is None else max_bytes
    if not fetch_allowed(url):
        raise RefusedURLError("the URL is not an allowed storage location")
    try:
        reply = netguard.request(
            "GET",
            url,
            allow_private=cfg.fetch_allow_private,
            require_https=urlsplit(url).scheme.lower() == "https",
            timeout=timeout,
            max_body=cap + 1,
            resolver=resolver,
        )
    except netguard.RefusedURLError as exc:
        raise RefusedURLError(str(exc)) from None
    except Exception as exc:  # OSError, TimeoutError, http.client.HTTPException, ssl errors
        raise RefusedURLError(f"fetching the URL failed: {exc}") from None
    if reply.status != 200:
        raise RefusedURLError(f"fetching the URL answered HTTP {reply.status}")
    if len(reply.body) > cap:
        raise TooLargeError(f"the URL holds more than {cap} bytes")
    return reply.body


def read_url(url: str, own_prefixes: Iterable[str], *, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The bytes behind a client-supplied URL: an agentyard download URL (`<prefix><token>`,
    token checked, blob read locally, no request made) or an allowed storage URL (`fetch`)."""
    token = token_from_url(url, own_prefixes)
    if token is not None:
        digest, _ = redeem_download(token)
        return store().get(digest)
    return fetch(url, timeout=timeout)
