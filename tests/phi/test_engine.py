"""The cheaper engine set-up, patterns and context enhancer find exactly what the reference
ones find."""

from __future__ import annotations

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, PatternRecognizer
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from thinc.api import use_ops

from agentyard.phi.context import ContextEnhancer
from agentyard.phi.engine import SPACY_MODEL
from agentyard.phi.nlp import UNUSED_COMPONENTS, ContextLemmas, single_thread_openblas
from agentyard.phi.recognizers import custom_recognizers
from agentyard.phi.recognizers._common import LOOSE_ID
from tests.phi import corpus


def _entities(doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def _texts() -> list[str]:
    """Corpus sentences, one by one and as ~1-2 KB notes of twelve."""
    lines = [s.text for s in corpus.load()]
    return lines + ["\n".join(lines[i : i + 12]) for i in range(0, len(lines), 12)]


def test_ner_multiplies_with_single_threaded_openblas_and_finds_what_blis_finds(guard):
    assert single_thread_openblas()  # numpy's wheels bundle OpenBLAS
    nlp = guard.analyzer.nlp_engine.get_nlp("en")
    assert not nlp.get_pipe("ner").model.ops.use_blis
    with use_ops("numpy", use_blis=True):
        reference = spacy.load(SPACY_MODEL, exclude=list(UNUSED_COMPONENTS))
    assert reference.get_pipe("ner").model.ops.use_blis
    texts = _texts()
    found = [_entities(d) for d in nlp.pipe(texts)]
    assert found == [_entities(d) for d in reference.pipe(texts)]
    assert sum(map(len, found)) > 500  # the comparison covers many entities


def test_numpy_multiplied_weights_are_stored_transposed_and_the_c_loops_are_not(guard):
    ner = guard.analyzer.nlp_engine.get_nlp("en").get_pipe("ner").model
    layers = [
        layer
        for ref in ("tok2vec", "lower")
        for layer in ner.get_ref(ref).walk()
        if layer.has_param("W")
    ]
    assert len(layers) == 7  # five maxouts, the projection, the precomputable affine
    for layer in layers:
        weights = layer.get_param("W")
        assert weights.reshape(-1, weights.shape[-1]).T.flags.c_contiguous
    # spaCy's C loop reads the upper layer's weights as a row-major array
    assert ner.get_ref("upper").get_param("W").flags.c_contiguous
    # and the short texts of a conversation find what the reference model finds
    with use_ops("numpy", use_blis=False):
        reference = spacy.load(SPACY_MODEL, exclude=list(UNUSED_COMPONENTS))
    texts = [s.text for s in corpus.load()][:200]
    nlp = guard.analyzer.nlp_engine.get_nlp("en")
    assert [_entities(d) for d in nlp.pipe(texts)] == [_entities(d) for d in reference.pipe(texts)]


# LOOSE_ID as it was written before its cheap assertions were moved to the front.
_LOOSE_ID_REFERENCE = (
    r"(?<![0-9)][\x20.\-]?)\b"
    r"(?!(?:[0-9]{3}[\x20.\-])?[0-9]{3}[\x20.\-][0-9]{4}\b)"
    r"(?=[A-Z0-9-]{6,20}\b)(?=(?:[A-Z-]*[0-9]){5})[A-Z0-9]+(?:-[A-Z0-9]+)*\b"
    r"(?![\x20.\-]?[0-9])"
)


def _reference(pattern: str) -> str:
    """``pattern`` without the early capital checks (their only job is speed)."""
    return (
        pattern.replace(LOOSE_ID, _LOOSE_ID_REFERENCE)
        .replace("(?-i:(?=[A-Z]))", "")
        .replace(r"(?=\p{Lu})", "")
    )


def test_early_cheap_checks_keep_every_pattern_match():
    patterns = [
        (p.regex, r.global_regex_flags)
        for r in custom_recognizers()
        if isinstance(r, PatternRecognizer)
        for p in r.patterns
    ]
    changed = [(p, f) for p, f in patterns if _reference(p) != p]
    assert len(changed) >= 10  # the city/county, first-name and weak-id patterns
    texts = _texts() + ["Essex County, Green County, Springfield, IL; acct 55120987 MRN 4471-0928"]
    matches = 0
    for pattern, flags in changed:
        fast, reference = regex.compile(pattern, flags), regex.compile(_reference(pattern), flags)
        for text in texts:
            found = [m.span() for m in fast.finditer(text)]
            assert found == [m.span() for m in reference.finditer(text)], (pattern, text)
            matches += len(found)
    assert matches > 1000


def _scores(analyzer: AnalyzerEngine, text: str) -> list[tuple[str, int, int, float]]:
    results = analyzer.analyze(text=text, language="en", score_threshold=0.0)
    return sorted((r.entity_type, r.start, r.end, r.score) for r in results)


def test_context_enhancer_scores_every_result_as_presidios_does(guard):
    ours = guard.analyzer
    assert isinstance(ours.context_aware_enhancer, ContextEnhancer)
    reference = AnalyzerEngine(
        registry=ours.registry,
        nlp_engine=ours.nlp_engine,
        supported_languages=["en"],
        context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
    )
    texts = _texts()
    found = [_scores(ours, t) for t in texts]
    assert found == [_scores(reference, t) for t in texts]
    # the comparison covers many context-raised scores (weak patterns score below 0.4)
    raised = sum(1 for f in found for _, _, _, score in f if 0.4 <= score < 0.65)
    assert raised > 200


def test_context_lemmas_are_remembered_and_unchanged():
    lemmas = ContextLemmas(["record", "call", "admit"])
    words = ["Records", "called", "admits", "RECORD", "calls", "Spain", "records"]
    assert [lemmas(w) for w in words] == [lemmas._lemma(w) for w in words]
    assert [lemmas(w) for w in words[:3]] == ["record", "call", "admit"]
    assert lemmas._cached.cache_info().hits == 3  # the second round
