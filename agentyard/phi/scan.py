"""One scan of one text with a Presidio analyzer: the step the guard and its scanner processes
share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentyard.phi.filters import drop_false_ner
from agentyard.phi.findings import Finding, resolve_overlaps

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpArtifacts


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
