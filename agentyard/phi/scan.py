"""One scan of one text with a Presidio analyzer: the step the guard and its scanner processes
share (`scan_texts`: several texts with spaCy over them as one batch, the same findings).

A scan can also run as two halves on two cores (`scan_half`, then `merge_halves`): ``"ner"``
runs the spaCy NER and keeps its PERSON/LOCATION entities; ``"patterns"`` tokenizes only
(spaCy's tokenizer, for the context enhancer) and runs every other recognizer. Merged, they
give exactly `scan_text`'s findings: Presidio enhances, thresholds and de-duplicates each
result on its own (a result is dropped only for a same-type container with an equal or higher
score, which every kept half still has), and the NER-only recognizer is the only one that reads
spaCy's entities.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, cast

from agentyard.phi.filters import drop_false_ner
from agentyard.phi.findings import Finding, resolve_overlaps

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpArtifacts

    from agentyard.phi.nlp import NerOnlySpacyEngine

HALVES = ("ner", "patterns")
# Raw half results: (entity_type, start, end, unrounded score).
RawResult = tuple[str, int, int, float]


def scan_text(
    analyzer: AnalyzerEngine,
    text: str,
    threshold: float,
    artifacts: NlpArtifacts | None = None,
) -> list[Finding]:
    """Non-overlapping findings in ``text`` at ``threshold``, sorted by position.

    ``artifacts``: the spaCy output for ``text`` when the caller already has it (the guard
    runs spaCy under a lock); computed here otherwise.
    """
    if not text or text.isspace():
        return []
    if artifacts is None:
        artifacts = analyzer.nlp_engine.process_text(text, "en")
    results = analyzer.analyze(
        text=text, language="en", nlp_artifacts=artifacts, score_threshold=threshold
    )
    findings = [Finding(r.entity_type, r.start, r.end, round(r.score, 4)) for r in results]
    return resolve_overlaps(drop_false_ner(text, findings))


def scan_texts(analyzer: AnalyzerEngine, texts: list[str], threshold: float) -> list[list[Finding]]:
    """`scan_text` of each text, spaCy over all of them as one batch (`NerOnlySpacyEngine.
    artifacts_of`): what a scanner does with a job of several texts."""
    nlp_engine = cast("NerOnlySpacyEngine", analyzer.nlp_engine)  # the guard's engine
    todo = [i for i, text in enumerate(texts) if text and not text.isspace()]
    out: list[list[Finding]] = [[] for _ in texts]
    if len(todo) == 1:
        out[todo[0]] = scan_text(analyzer, texts[todo[0]], threshold)
    elif todo:
        batch = nlp_engine.artifacts_of([texts[i] for i in todo], "en")
        for i, artifacts in zip(todo, batch, strict=True):
            out[i] = scan_text(analyzer, texts[i], threshold, artifacts)
    return out


def _ner_recognizers(analyzer: AnalyzerEngine) -> list:
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    return [r for r in analyzer.registry.recognizers if isinstance(r, SpacyRecognizer)]


def scan_half(analyzer: AnalyzerEngine, text: str, threshold: float, half: str) -> list[RawResult]:
    """One half of a split scan (see the module doc), before merging."""
    if not text or text.isspace():
        return []
    nlp_engine = cast("NerOnlySpacyEngine", analyzer.nlp_engine)  # the guard's engine
    ner = _ner_recognizers(analyzer)
    if half == "ner":
        artifacts = nlp_engine.entity_artifacts(text, "en")
        results = [
            r
            for recognizer in ner
            for r in recognizer.analyze(text, recognizer.supported_entities, artifacts)
            if r.score >= threshold
        ]
    elif half == "patterns":
        doc = nlp_engine.get_nlp("en").make_doc(text)  # tokens only: no NER entities
        artifacts = nlp_engine._doc_to_nlp_artifact(doc, "en")
        results = analyzer.analyze(
            text=text, language="en", nlp_artifacts=artifacts, score_threshold=threshold
        )
    else:
        raise ValueError(f"unknown scan half {half!r}")
    return [(r.entity_type, r.start, r.end, r.score) for r in results]


def _remove_contained(results: list[RawResult]) -> list[RawResult]:
    """Presidio's `remove_duplicates`: drop exact repeats and results inside a same-type
    result with an equal or higher score."""
    kept: list[RawResult] = []
    ordered = sorted(set(results), key=lambda r: (r[0], r[1], -(r[2] - r[1]), -r[3]))
    for _, group in groupby(ordered, key=lambda r: r[0]):
        active: list[RawResult] = []
        for r in group:
            if r[3] == 0:
                continue
            active = [a for a in active if a[2] >= r[1]]
            if any(a[1] <= r[1] and r[2] <= a[2] and r[3] <= a[3] for a in active):
                continue
            kept.append(r)
            active.append(r)
    return kept


def merge_halves(text: str, halves: list[list[RawResult]]) -> list[Finding]:
    """The findings of a split scan from its halves' raw results."""
    merged = _remove_contained([r for half in halves for r in half])
    findings = [Finding(t, s, e, round(score, 4)) for t, s, e, score in merged]
    return resolve_overlaps(drop_false_ner(text, findings))
