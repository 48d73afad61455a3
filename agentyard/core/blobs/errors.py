"""The errors of blob storage, manifests, archives, URL fetching and blob tokens.

The token errors are both `BlobError`s and the matching `agentyard.core.tokens` errors, so
`except blobs.TokenError` and `except tokens.TokenError` both catch a refused blob URL token.
"""

from __future__ import annotations

from agentyard.core import tokens


class BlobError(Exception):
    """Base of the blob package's errors."""


class BlobNotFoundError(BlobError, LookupError):
    """No blob with that digest is stored."""


class ManifestError(BlobError, ValueError):
    """A declared file list (or a name or hash in it) is not acceptable."""


class HashMismatchError(BlobError, ValueError):
    """Received bytes do not hash to the declared value."""


class TooLargeError(BlobError, ValueError):
    """A file, archive or download exceeds its configured cap."""


class ArchiveError(BlobError, ValueError):
    """An archive is malformed or unsafe (zip-slip names, duplicates, links, bombs)."""


class RefusedURLError(BlobError, ValueError):
    """A URL is neither one of agentyard's own blob URLs nor allowed by configuration, or
    fetching it failed."""


class TokenError(BlobError, tokens.TokenError):
    """A signed token was not accepted."""


class InvalidTokenError(TokenError, tokens.InvalidTokenError):
    """Malformed, tampered with, or signed with an unknown key."""


class WrongPurposeError(InvalidTokenError, tokens.WrongPurposeError):
    """Genuine, but signed for another purpose."""


class ExpiredTokenError(TokenError, tokens.ExpiredTokenError):
    """Genuine and for this purpose, but past its expiry."""


_AS_BLOB_ERROR: dict[type[tokens.TokenError], type[TokenError]] = {
    tokens.TokenError: TokenError,
    tokens.InvalidTokenError: InvalidTokenError,
    tokens.WrongPurposeError: WrongPurposeError,
    tokens.ExpiredTokenError: ExpiredTokenError,
}


def as_blob_error(exc: tokens.TokenError) -> TokenError:
    """The blob token error matching a `tokens` error (same message)."""
    if isinstance(exc, TokenError):
        return exc
    return _AS_BLOB_ERROR.get(type(exc), TokenError)(*exc.args)
