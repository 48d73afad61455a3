"""The schemathesis CLI against a live server for Harnesslayer (both credentials) and
Hyphen (the runs and the server: tests/contract/live_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.live_cli import PART_TWO, Live, Run, check, live, params  # noqa: F401


@pytest.mark.parametrize("run", params(PART_TWO))
def test_schemathesis_cli_passes_against_a_live_server_engines(
    run: Run,
    live: Live,  # noqa: F811
    tmp_path: Path,
) -> None:
    check(run, live, tmp_path)
