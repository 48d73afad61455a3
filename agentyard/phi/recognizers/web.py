"""URLs and e-mail addresses (Safe Harbor categories N and F).

Replaces presidio's UrlRecognizer, whose pattern (any of ~600 TLDs after up to 253 characters
of ``[a-z0-9.-]``) takes seconds on a long dotted string ("ab.ab.ab..."); here domains are
matched label by label against a short list of common TLDs.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

_TLD = (
    r"(?:com|org|net|edu|gov|mil|int|io|co|us|uk|ca|de|fr|es|it|nl|au|in|jp|cn|ru|br|mx|"
    r"info|biz|app|dev|health|care|me|tv|online|site)"
)
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
# A path/query: no spaces or quotes, not ending in sentence punctuation.
_PATH = r"(?:[/?#][^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]])?/?"

_SCHEME_URL = r"\b(?:https?|ftp)://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]]"
_WWW_URL = rf"\bwww[0-9]{{0,3}}\.(?:{_LABEL}\.)+[a-z]{{2,24}}\b{_PATH}"
_BARE_URL = rf"(?<![@.\-\w])(?:{_LABEL}\.){{1,6}}{_TLD}\b(?![.\-@]?\w){_PATH}"


def url() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="URL",
        name="WebUrlRecognizer",
        patterns=[
            Pattern("url with scheme", _SCHEME_URL, 0.6),
            Pattern("www url", _WWW_URL, 0.6),
            Pattern("bare domain url", _BARE_URL, 0.5),
        ],
        context=["url", "website", "site", "link", "blog", "page", "portal"],
    )


# Any address@domain.tld: presidio's EmailRecognizer drops domains whose suffix is not in the
# public suffix list (intranet hosts, typos), which are still e-mail addresses.
_EMAIL_ANY = r"\b[A-Z0-9][A-Z0-9._%+\-]{0,63}@[A-Z0-9\-]{1,63}(?:\.[A-Z0-9\-]{1,63}){1,8}\b"


def email_any_domain() -> EntityRecognizer:
    return PatternRecognizer(
        supported_entity="EMAIL_ADDRESS",
        name="EmailAnyDomainRecognizer",
        patterns=[Pattern("email (any domain)", _EMAIL_ANY, 0.6)],
        context=["email", "e-mail", "mail", "contact"],
    )
