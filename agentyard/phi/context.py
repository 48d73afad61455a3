"""Presidio's lemma context enhancer, with its per-result costs taken out.

Presidio (2.2.366) raises a weak match's score when one of its recognizer's context words is
among the five keyword lemmas before it (`LemmaContextAwareEnhancer`). For each of a scan's
raw results it deep-copies all of them first, walks the spaCy ``Doc`` from its start to find
the match's token, tests each lemma against the keyword *list*, and compares every context
word with every surrounding word, lower-casing both each time: about a third of a 1 KB
pattern scan. `ContextEnhancer` gives the same scores and the same results:

- the match's token is found by bisecting the token end offsets (the first token ending after
  the match start is the first whose start equals it or whose span covers it);
- keywords are a set (membership is all Presidio asks of its list);
- the first of the recognizer's context words (in its order) found among the surrounding
  words is the supportive word, as in Presidio;
- only the results whose score changes are copied (with their explanation); the others are
  returned as they came, which the analyzer engine (the only caller) does not mutate.

``context_matching_mode="substring"`` is left to Presidio's own code.
"""

from __future__ import annotations

import copy
from bisect import bisect_right

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import (
    ContextAwareEnhancer,
    LemmaContextAwareEnhancer,
)
from presidio_analyzer.nlp_engine import NlpArtifacts

from agentyard.phi.nlp import ScanArtifacts

_ID = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
_ENHANCED = RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY


class ContextEnhancer(LemmaContextAwareEnhancer):
    """`LemmaContextAwareEnhancer` in whole-word mode, same results at a fraction of the cost."""

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Results with the scores of those that have a context word nearby raised."""
        if self.context_matching_mode != "whole_word" or nlp_artifacts is None:
            return super().enhance_using_context(
                text, raw_results, nlp_artifacts, recognizers, context
            )
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        extra = {word.lower() for word in context or ()}
        window = _Window(nlp_artifacts, self.context_prefix_count, self.context_suffix_count)
        results = []
        for result in raw_results:
            metadata = result.recognition_metadata
            recognizer = by_id.get(metadata.get(_ID)) if metadata else None
            if recognizer is None or not recognizer.context or metadata.get(_ENHANCED):
                results.append(result)
                continue
            nearby = window.words_around(text[result.start : result.end], result.start) | extra
            word = next((w for w in recognizer.context if w.lower() in nearby), "")
            if not word:
                results.append(result)
                continue
            result = copy.copy(result)
            result.analysis_explanation = copy.copy(result.analysis_explanation)
            result.score += self.context_similarity_factor
            result.score = max(result.score, self.min_score_with_context_similarity)
            result.score = min(result.score, ContextAwareEnhancer.MAX_SCORE)
            result.analysis_explanation.set_supportive_context_word(word)
            result.analysis_explanation.set_improved_score(result.score)
            results.append(result)
        return results


class _Window:
    """The keyword lemmas before and after a match, as Presidio collects them."""

    def __init__(self, artifacts: NlpArtifacts, before: int, after: int) -> None:
        self.before, self.after = before, after
        self.lemmas = artifacts.lemmas
        self.keywords = frozenset(artifacts.keywords)
        self.empty = not artifacts.tokens
        if isinstance(artifacts, ScanArtifacts):  # the guard's engine measured them once
            self.ends = artifacts.token_ends
        else:
            self.ends = [
                start + len(token)
                for start, token in zip(artifacts.tokens_indices, artifacts.tokens, strict=True)
            ]

    def words_around(self, word: str, start: int) -> set[str]:
        """Lower-case keyword lemmas near the match starting at ``start`` (its own included)."""
        if self.empty:
            return {""}
        index = bisect_right(self.ends, start)
        if index == len(self.ends):
            raise ValueError(f"Did not find word '{word}' in the list of tokens")
        return self._collect(index, self.before, -1) | self._collect(index, self.after, 1)

    def _collect(self, index: int, n_words: int, step: int) -> set[str]:
        words: set[str] = set()
        remaining = n_words + 1  # the match's own token counts, as in Presidio
        i = index
        while 0 <= i < len(self.lemmas) and remaining > 0:
            lemma = self.lemmas[i].lower()
            if lemma in self.keywords:
                words.add(lemma)
                remaining -= 1
            i += step
        return words
