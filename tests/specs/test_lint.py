"""Every spec in specs/*.yaml passes openapi-spec-validator and the Spectral ruleset.

The Spectral tests use the pinned CLI that `bash .ci/lint-specs` installs into .tools/spectral/
and are skipped when it is absent. A deliberately broken spec proves each agentyard rule of
.spectral.yaml fires (and that a well-formed operation next to it is not flagged).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
RULESET = ROOT / ".spectral.yaml"
SPECTRAL_PIN = json.loads((ROOT / ".ci/spectral/package.json").read_text())["dependencies"][
    "@stoplight/spectral-cli"
]
SPECTRAL_DIR = ROOT / ".tools/spectral/node_modules"
SPECTRAL = SPECTRAL_DIR / ".bin/spectral"


def spectral_skip_reason() -> str | None:
    cli_package = SPECTRAL_DIR / "@stoplight/spectral-cli/package.json"
    if not SPECTRAL.exists() or not cli_package.exists():
        return f"Spectral {SPECTRAL_PIN} not installed in .tools/spectral/ (run .ci/lint-specs)"
    installed = json.loads(cli_package.read_text())["version"]
    if installed != SPECTRAL_PIN:
        return f"Spectral {installed} in .tools/spectral/, not the pinned {SPECTRAL_PIN}"
    if shutil.which("node") is None:
        return "node is not on PATH, cannot run Spectral"
    return None


SPECTRAL_SKIP = spectral_skip_reason()
needs_spectral = pytest.mark.skipif(SPECTRAL_SKIP is not None, reason=str(SPECTRAL_SKIP))


def spectral_lint(spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SPECTRAL), "lint", "--ruleset", str(RULESET), *args, str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def agentyard_rules() -> set[str]:
    """Rules .spectral.yaml defines itself (not overrides of spectral:oas rules)."""
    rules = yaml.safe_load(RULESET.read_text())["rules"]
    return {name for name, rule in rules.items() if isinstance(rule, dict) and "given" in rule}


def test_there_are_specs() -> None:
    assert SPECS, "no specs/*.yaml found"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_openapi_spec_validator(spec: Path) -> None:
    document, base_uri = read_from_filename(str(spec))
    validate(document, base_uri=base_uri)


@needs_spectral
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_spectral_clean(spec: Path) -> None:
    result = spectral_lint(spec, "--fail-severity=warn")
    assert result.returncode == 0, result.stdout + result.stderr


BROKEN_SPEC = textwrap.dedent(
    """\
    openapi: 3.0.3
    info:
      title: Broken on purpose
      version: "1"
      description: Each operation but `good` breaks one agentyard rule.
      contact: {name: tests}
    servers:
      - url: https://example.com
    tags:
      - name: T
        description: A tag.
    paths:
      /undocumented:
        get:
          responses:
            "200":
              description: OK.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Thing"}
            "400": {$ref: "#/components/responses/BadRequest"}
      /no-4xx:
        get:
          operationId: no4xx
          summary: No 4xx.
          description: Only a 200.
          tags: [T]
          responses:
            "200":
              description: OK.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Thing"}
      /wrong-4xx:
        get:
          operationId: wrong4xx
          summary: 4xx not in the error shape.
          description: The 404 refers to Thing, the 400 has an inline schema.
          tags: [T]
          responses:
            "200":
              description: OK.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Thing"}
            "400":
              description: Inline schema with the same shape.
              content:
                application/json:
                  schema: {type: object}
            "404": {$ref: "#/components/responses/NotAnError"}
      /no-schema:
        get:
          operationId: noSchema
          summary: 2xx JSON without schema.
          description: The 200 has application/json but no schema.
          tags: [T]
          responses:
            "200":
              description: OK.
              content:
                application/json: {}
            "404":
              description: Inline response with the error shape.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/NativeError"}
      /good:
        get:
          operationId: good
          summary: Follows every rule.
          description: Its 4XX goes through two response $refs to an ...Error schema.
          tags: [T]
          responses:
            "200":
              description: OK.
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Thing"}
            "4XX": {$ref: "#/components/responses/Alias"}
    components:
      responses:
        BadRequest:
          description: Bad request.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/NativeError"}
        Alias: {$ref: "#/components/responses/BadRequest"}
        NotAnError:
          description: Not the error shape.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
      schemas:
        NativeError:
          type: object
          properties:
            message: {type: string}
        Thing:
          type: object
          properties:
            message: {type: string}
    """
)


@needs_spectral
def test_agentyard_rules_fire(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN_SPEC)
    result = spectral_lint(spec, "--format", "json")
    assert result.returncode != 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)
    ours = agentyard_rules()
    # (rule, operation) pairs; an operation is ("paths", "<path>", "<method>").
    found = {(f["code"], tuple(f["path"][:3])) for f in findings if f["code"] in ours}

    undocumented = ("paths", "/undocumented", "get")
    expected = {
        ("agentyard-operation-operationId", undocumented),
        ("agentyard-operation-summary", undocumented),
        ("agentyard-operation-description", undocumented),
        ("agentyard-operation-tags", undocumented),
        ("agentyard-operation-4xx-error-schema", ("paths", "/no-4xx", "get")),
        ("agentyard-operation-4xx-error-schema", ("paths", "/wrong-4xx", "get")),
        ("agentyard-2xx-json-schema", ("paths", "/no-schema", "get")),
    }
    assert found == expected, json.dumps(findings, indent=1)
    # Every rule .spectral.yaml adds is proven to fire, and all of them are errors.
    assert {code for code, _ in expected} == ours
    assert all(f["severity"] == 0 for f in findings if f["code"] in ours)
