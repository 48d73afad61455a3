"""Per-category recall and precision on the labelled synthetic corpus (pytest -s shows it)."""

from __future__ import annotations

from collections import Counter

import pytest

from agentyard.phi.categories import CLAIMED, ENTITY_CATEGORY
from agentyard.phi.evaluation import by_entity, evaluate, format_table
from tests.phi.corpus import load

MIN_RECALL = 0.95
MIN_POSITIVES = 25


@pytest.fixture(scope="module")
def corpus():
    return load()


@pytest.fixture(scope="module")
def findings_of(guard, corpus):
    cache = {s.text: guard.analyze(s.text, timeout=30) for s in corpus}
    return cache.__getitem__


def test_corpus_covers_every_claimed_category(corpus):
    per_category = Counter(ENTITY_CATEGORY[s.entity_type] for x in corpus for s in x.spans)
    for category in CLAIMED:
        assert per_category[category.code] >= MIN_POSITIVES, category
    assert sum(1 for x in corpus if not x.spans) >= 60


def test_recall_per_claimed_category(corpus, findings_of):
    report = evaluate(corpus, findings_of)
    print("\nPHI guard on the synthetic corpus, by Safe Harbor category:")
    print(format_table(report))
    print("\nby entity type:")
    print(format_table(evaluate(corpus, findings_of, by_entity), grouped_by_category=False))
    for text, value, entity_type in report.misses:
        print(f"  missed {entity_type} {value!r} in {text!r}")
    low = {
        c.code: round(report.tallies[c.code].recall, 3)
        for c in CLAIMED
        if report.tallies[c.code].recall < MIN_RECALL
    }
    assert not low, f"recall below {MIN_RECALL}: {low}"


def test_negative_lookalikes_are_not_flagged(corpus, findings_of):
    flagged = {
        x.text: [(f.entity_type, x.text[f.start : f.end]) for f in findings_of(x.text)]
        for x in corpus
        if not x.spans
    }
    assert {t: f for t, f in flagged.items() if f} == {}
