"""What integrators download: the served documents and `agentyard specs export`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from agentyard import surfaces
from agentyard.cli import main
from agentyard.specs import document


def export(directory: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["specs", "export", str(directory), *args])
    assert result.exit_code == 0, result.output
    return result.output


def without_servers(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "servers"}


@pytest.mark.parametrize("name", sorted(surfaces.SURFACES))
def test_served_documents_point_at_the_server_and_match_the_export(
    name: str, server: str, tmp_path: Path
) -> None:
    mount = surfaces.get(name).mount
    routing = surfaces.get(name).tenant_routing  # served per tenant: `/{org}` in the URL
    tenant = f"/{{{routing.variable}}}" if routing else ""
    as_json = httpx.get(f"{server}{mount}/openapi.json")
    as_yaml = httpx.get(f"{server}{mount}/openapi.yaml")
    assert as_json.status_code == as_yaml.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    served = as_json.json()
    assert yaml.safe_load(as_yaml.text) == served
    assert served["servers"][0]["url"] == server + mount + tenant
    assert served["servers"][0]["description"] == "agentyard"

    export(tmp_path, "--surface", name)
    exported = json.loads((tmp_path / f"{name}.openapi.json").read_text())
    assert without_servers(exported) == without_servers(served)
    assert yaml.safe_load((tmp_path / f"{name}.openapi.yaml").read_text()) == exported


def test_export_is_self_contained_deterministic_and_defaults_to_serve(tmp_path: Path) -> None:
    out = export(tmp_path / "a")
    export(tmp_path / "b")
    for name, s in surfaces.SURFACES.items():
        for suffix in ("yaml", "json"):
            first = (tmp_path / "a" / f"{name}.openapi.{suffix}").read_bytes()
            assert first == (tmp_path / "b" / f"{name}.openapi.{suffix}").read_bytes()
        doc = json.loads((tmp_path / "a" / f"{name}.openapi.json").read_text())
        tenant = f"/{{{s.tenant_routing.variable}}}" if s.tenant_routing else ""
        assert doc["servers"][0]["url"] == f"http://localhost:8000{s.mount}{tenant}"
        assert document.external_refs(doc) == []
        assert "x-openapi-router-controller" not in json.dumps(doc)  # internal wiring
        assert f"{name}.openapi.yaml" in out


def test_export_server_url(tmp_path: Path) -> None:
    name, s = next(iter(surfaces.SURFACES.items()))
    export(tmp_path / "one", "--surface", name, "--server-url", "https://api.example.com/")
    one = json.loads((tmp_path / "one" / f"{name}.openapi.json").read_text())
    assert one["servers"][0]["url"] == "https://api.example.com"
    export(tmp_path / "all", "--server-url", "https://yard.example.com")
    every = json.loads((tmp_path / "all" / f"{name}.openapi.json").read_text())
    assert every["servers"][0]["url"] == f"https://yard.example.com{s.mount}"


def test_a_spec_with_an_external_ref_is_not_published(tmp_path: Path) -> None:
    spec = tmp_path / "split.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
        "      responses:\n        '200': {$ref: 'common.yaml#/components/responses/Ok'}\n"
    )
    with pytest.raises(ValueError, match="external"):
        document.published(spec, "http://localhost:8000")


def test_dates_stay_strings_in_both_formats(tmp_path: Path) -> None:
    spec = tmp_path / "dated.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: 2026-04-06}\npaths: {}\n"
        "components:\n  schemas:\n    D: {type: string, example: 2026-04-06T10:00:00Z}\n"
    )
    doc = document.published(spec, "http://x")
    assert doc["info"]["version"] == "2026-04-06"
    assert json.loads(document.to_json(doc)) == yaml.safe_load(document.to_yaml(doc))
