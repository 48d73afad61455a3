"""The spec's patterns state the server's own rules: what a pattern admits, the server's
check accepts (so a client following the spec is never refused), and for file names the
other way round too (the schema is the whole rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentyard.core import blobs, netguard

SPEC = Path(__file__).resolve().parents[2] / "specs" / "harnesslayer.yaml"
SCHEMAS = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))


def pattern(name: str) -> str:
    return SCHEMAS[name]["pattern"]


@FUZZ
@given(st.from_regex(pattern("FileName"), fullmatch=True).filter(lambda n: len(n) <= 512))
def test_every_file_name_the_spec_admits_is_accepted(name):
    assert blobs.check_name(name) == name


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("aZ.:/\\ é\x01\x7f")), min_size=1, max_size=8))
def test_the_file_name_pattern_is_the_servers_rule(name):
    try:
        blobs.check_name(name)
        accepted = True
    except blobs.ManifestError:
        accepted = False
    assert accepted == bool(re.search(pattern("FileName"), name)), name


@FUZZ
@given(st.from_regex(pattern("HttpsUrl"), fullmatch=True).filter(lambda u: len(u) <= 2048))
def test_every_url_the_spec_admits_is_well_formed_for_the_server(url):
    """Only the policy (https, public addresses) may refuse it then: 403, not 400."""
    netguard.check_url(url, allow_private=True, require_https=False, resolve=False)


@pytest.mark.parametrize(
    ("url", "admitted"),
    [
        ("https://example.com/harnesslayer/webhook", True),
        ("http://127.0.0.1:8080/hook?x=1#frag", True),
        ("https://[2001:db8::1]:8443/", True),
        ("https://[::ffff:10.0.0.1]/", True),
        ("https://xn--bcher-kva.example/", True),
        ("https://", False),
        ("https://bücher.example/", False),
        ("https://example.com:0/", False),
        ("https://example.com:65536/", False),
        ("https://a..b/", False),
        ("https://user:pass@example.com/", False),
        ("ftp://example.com/", False),
        ("https://example.com/a b", False),
    ],
)
def test_url_pattern_examples(url, admitted):
    assert bool(re.search(pattern("HttpsUrl"), url)) is admitted
