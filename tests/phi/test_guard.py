"""Redaction, fail-closed behaviour, thread safety and look-alikes of the PHI guard."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentyard.phi import PhiScanError, PhiScanTimeoutError
from agentyard.phi import guard as guard_module
from agentyard.phi.categories import CLAIMED, ENTITY_CATEGORY, NOT_CLAIMED, SAFE_HARBOR

REQUEST = [
    "Patient Maria Delgado, MRN 00482913, DOB 07/22/1956, called from (216) 555-0174.",
    "Maria Delgado's daughter Keisha Brown (SSN 412-67-3390) visited on March 3, 2023.",
    "Ask Keisha Brown to confirm; no PHI in this sentence otherwise.",
    "",
]


def test_redact_numbers_placeholders_consistently_across_texts(guard):
    red = guard.redact(REQUEST, timeout=10)
    assert red.texts[0] == (
        "Patient [PERSON_1], MRN [MEDICAL_RECORD_NUMBER_1], DOB [DATE_1], "
        "called from [PHONE_NUMBER_1]."
    )
    assert red.texts[1] == (
        "[PERSON_1]'s daughter [PERSON_2] (SSN [US_SSN_1]) visited on [DATE_2]."
    )
    assert red.texts[2] == "Ask [PERSON_2] to confirm; no PHI in this sentence otherwise."
    assert red.texts[3] == ""
    assert red.counts == {
        "PERSON": 4,
        "MEDICAL_RECORD_NUMBER": 1,
        "DATE": 2,
        "PHONE_NUMBER": 1,
        "US_SSN": 1,
    }
    assert red.total == 9
    assert red.summary() == {"counts": red.counts, "total": 9}
    assert "Maria" not in str(red.summary())
    # findings are positions in the original texts
    f = red.findings[0][0]
    assert REQUEST[0][f.start : f.end] == "Maria Delgado"
    # the model's reply comes back with the caller's values
    reply = "[PERSON_1] (DOB [DATE_1]) and her daughter [PERSON_2]; ask [PERSON_3]."
    assert red.vault.restore(reply) == (
        "Maria Delgado (DOB 07/22/1956) and her daughter Keisha Brown; ask [PERSON_3]."
    )
    restorer = red.vault.restorer()
    streamed = "".join(restorer.feed(reply[i : i + 3]) for i in range(0, len(reply), 3))
    assert streamed + restorer.flush() == red.vault.restore(reply)


def test_redact_does_not_reuse_placeholders_written_by_the_caller(guard):
    red = guard.redact(["[PERSON_1] is a template; the patient is Maria Delgado."], timeout=10)
    assert red.texts == ["[PERSON_1] is a template; the patient is [PERSON_2]."]
    assert red.vault.restore("[PERSON_1] / [PERSON_2]") == "[PERSON_1] / Maria Delgado"


def test_redact_empty_request(guard):
    red = guard.redact([], timeout=1)
    assert (red.texts, red.counts, red.total, len(red.vault)) == ([], {}, 0, 0)


def test_contains_phi(guard):
    assert guard.contains_phi("Looks up a patient chart by MRN and returns lab results.") == []
    assert guard.contains_phi("Always copy Dr. Anil Raman at anil.raman@example.org") == [
        "EMAIL_ADDRESS",
        "PERSON",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Metformin 500 mg twice daily.",
        "Type 2 diabetes (E11.9) and hypertension (I10).",
        "Smoked until 2019; colonoscopy in 2021.",
        "An 89-year-old and a 45 yo man.",
        "BP 120/80, HR 72, SpO2 98%, pain 7/10.",
        "Take 1/2 tablet; hydrocodone 5/325 mg.",
        "Hgb 13.5, creatinine 1.2, K 4.1, LDL 142.",
        "Parkinson's disease, Crohn's disease, Foley catheter.",
        "Follow up in 3 months.",
        "Pain improved from 8/10 to 3/10 after the first dose.",
        "Strength 5/5 throughout; give 3/4 tablet by mouth.",
        "pt will return in 2 weeks, son at bedside.",
        "Hickman line removed; Romberg negative; Abbott CGM sensor changed.",
        "Medi-Cal ID pending; moved from Senegal to Texas.",
    ],
)
def test_lookalikes_are_not_flagged(guard, text):
    assert guard.analyze(text, timeout=10) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Admit 04MAR2022, seen on 3/15, next visit 20231218.", ["04MAR2022", "3/15", "20231218"]),
        ("Hospitalized 1/5/2020-1/12/2020; last seen Jan '21.", ["1/5/2020-1/12/2020", "Jan '21"]),
        ("Surgeon: Pieter van der Berg, MD", ["Pieter van der Berg"]),
        ("NOTE WRITTEN BY: OLUWASEUN ADEYEMI, NP", ["OLUWASEUN ADEYEMI"]),
        ("Spoke with Agnieszka (wife); told Marcus to rest.", ["Agnieszka", "Marcus"]),
        ("pt john kowalski here with his neighbor barb", ["john kowalski", "barb"]),
        (
            "Home: RR 2 Box 47A, Bucyrus, OH; summers in Bangor, ME.",
            ["RR 2 Box 47A", "Bucyrus", "Bangor"],
        ),
        (
            "Address: 1600 Crescent Blvd, Mobile, AL 36604",
            ["1600 Crescent Blvd", "Mobile", "36604"],
        ),
        ("Call back at 555-0149; soc sec no 604817723.", ["555-0149", "604817723"]),
    ],
)
def test_clinical_note_forms_are_found(guard, text, expected):
    found = [text[f.start : f.end] for f in guard.analyze(text, timeout=10)]
    assert found == expected


def test_fail_closed_when_the_analyzer_raises(guard, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("recognizer exploded on 'Maria Delgado'")

    monkeypatch.setattr(guard.analyzer, "analyze", boom)
    with pytest.raises(PhiScanError) as err:
        guard.redact(["Patient Maria Delgado"], timeout=5)
    assert not isinstance(err.value, PhiScanTimeoutError)
    assert "Maria" not in str(err.value)  # the message carries no text
    with pytest.raises(PhiScanError):
        guard.contains_phi("Maria Delgado", timeout=5)


def test_fail_closed_on_timeout(guard, monkeypatch):
    release = threading.Event()
    real_analyze = guard.analyzer.analyze

    def slow(*args, **kwargs):
        release.wait(5)
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(guard.analyzer, "analyze", slow)
    started = time.perf_counter()
    with pytest.raises(PhiScanTimeoutError):
        guard.redact(["Patient Maria Delgado", "second text"], timeout=0.2)
    assert time.perf_counter() - started < 1.5
    with pytest.raises(PhiScanTimeoutError):
        guard.analyze("anything", timeout=0)
    release.set()


def test_concurrent_redaction_matches_sequential(guard):
    texts = [
        ["Pt Jamal Washington, MRN 7734102, seen 9/27/23.", "Call 614-555-0199."],
        ["Keisha Brown (SSN 412-67-3390) lives at 77 Orchard Lane, Ithaca, NY 14850."],
        ["Email maria.delgado84@examplemail.com from IP 192.168.14.77."],
        ["A 94 y/o man, VIN 1HGCM82633A004352, member ID XJH448812903."],
    ]
    expected = [guard.redact(t, timeout=10) for t in texts]
    results: dict[tuple[int, int], object] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for rep in range(3):
                i = (worker + rep) % len(texts)
                results[(worker, rep)] = (i, guard.redact(texts[i], timeout=30))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 18
    for i, red in results.values():
        assert red.texts == expected[i].texts
        assert red.counts == expected[i].counts
        assert red.vault.items() == expected[i].vault.items()


def test_get_guard_builds_once_under_concurrency(monkeypatch):
    built = []

    class FakeGuard:
        def __init__(self) -> None:
            time.sleep(0.05)
            built.append(self)

    monkeypatch.setattr(guard_module, "_guard", None)
    monkeypatch.setattr(guard_module, "Guard", FakeGuard)
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(guard_module.get_guard())) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(g is built[0] for g in got)


def test_engine_load_failure_fails_closed(monkeypatch):
    class BrokenGuard:
        def __init__(self) -> None:
            raise OSError("model missing")

    monkeypatch.setattr(guard_module, "_guard", None)
    monkeypatch.setattr(guard_module, "Guard", BrokenGuard)
    with pytest.raises(PhiScanError):
        guard_module.get_guard()


def test_category_mapping_is_complete():
    assert len(SAFE_HARBOR) == 18
    assert {c.code for c in CLAIMED} == set("ABCDEFGHIJKLMNO")
    assert {c.code for c in NOT_CLAIMED} == {"P", "Q", "R"}
    assert all(c.note for c in SAFE_HARBOR.values())
    assert set(ENTITY_CATEGORY.values()) <= set(SAFE_HARBOR)


OFFLINE_CHECK = """
import socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args)
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from agentyard.phi.guard import Guard
g = Guard(workers=1)
text = "Mail jane.roe@example.co.uk or see https://portal.example.org/p/1 and www.example.com"
print(sorted(f.entity_type for f in g.analyze(text, timeout=30)), len(attempts))
"""


def test_engine_builds_and_finds_urls_and_emails_offline(tmp_path):
    env = {
        **os.environ,
        "TLDEXTRACT_CACHE": str(tmp_path),  # no cached suffix list to hide a download
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", None)  # the package must set it itself
    out = subprocess.run(
        [sys.executable, "-c", OFFLINE_CHECK],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    # found, and not a single connection attempted (tldextract used its bundled snapshot)
    assert out.stdout.strip().splitlines()[-1] == "['EMAIL_ADDRESS', 'URL', 'URL'] 0"
