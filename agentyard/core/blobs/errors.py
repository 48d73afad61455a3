"""The errors of blob storage, manifests, archives and URL fetching (token errors are
`agentyard.core.tokens`'s, re-exported by the package)."""

from __future__ import annotations


class BlobError(Exception):
    """Base of this module's errors."""


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
