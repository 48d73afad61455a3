"""The schemathesis CLI against a live server for AISP Hub, HASP AI, HASP Studio and the HASP
runtime (the runs and the server: tests/contract/live_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.live_cli import PART_ONE, PART_TWO, RUNS, Live, Run, check, live, params  # noqa: F401


@pytest.mark.parametrize("run", params(PART_ONE))
def test_schemathesis_cli_passes_against_a_live_server(
    run: Run,
    live: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    check(run, live, tmp_path)


def test_every_run_is_in_one_of_the_two_files() -> None:
    assert sorted(PART_ONE + PART_TWO) == sorted(r.id for r in RUNS)
