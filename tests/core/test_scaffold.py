"""`agentyard surfaces new`: in a copy of the source tree, a toy surface scaffolded from a short
spec, its two handlers written as one-liners (the developer's step), passes its generated
contract test; the scaffold refuses a name taken and a spec lacking servers or security.

Everything runs in subprocesses over the copy (PYTHONPATH and the working directory point
there, AGENTYARD_* settings unset: SQLite only), so nothing touches this tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentyard import scaffold

ROOT = Path(__file__).resolve().parents[2]

TOY_SPEC = """\
openapi: 3.0.3
info: {title: Toy API, version: "1"}
servers: [{url: "https://toy.example.com"}]
security: [{ApiKey: []}]
paths:
  /things: {post: {operationId: create_thing, x-openapi-router-controller: handlers.toy.things, requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/New"}}}}, responses: {"201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}, "400": *e, "401": *e, "415": *e}}}
  /things/{id}: {get: {operationId: get_thing, x-openapi-router-controller: handlers.toy.things, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: The thing, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}, "400": *e, "401": *e, "404": *e}}}
components:
  securitySchemes: {ApiKey: {type: apiKey, in: header, name: X-Toy-Key, x-apikeyInfoFunc: handlers.toy.security.api_key_info}}
  responses: {Error: {description: An error, content: {application/json: {schema: {type: object, required: [error], properties: {error: {type: object, required: [code, message], properties: {code: {type: string}, message: {type: string}, details: {type: object}}}}}}}}}
  schemas: {New: {type: object, required: [name], additionalProperties: false, properties: {name: {type: string, maxLength: 64}}}, Thing: {type: object, required: [id, name], properties: {id: {type: string}, name: {type: string}}}}
"""  # noqa: E501  (ten lines of flow YAML)
ERROR = '{$ref: "#/components/responses/Error"}'

HANDLERS = """\
from agentyard.core.errors import not_found


def create_thing(body: dict) -> tuple[dict, int]:
    return {"id": "thing-1", "name": body["name"]}, 201


def get_thing(id_: str) -> dict:
    raise not_found("thing", id_)
"""


def _spec() -> str:
    """The toy spec: the first error response anchored, the others referring to it."""
    return TOY_SPEC.replace('"400": *e', f'"400": &e {ERROR}', 1)


def _copy_tree(to: Path) -> None:
    """This source tree's tracked and unignored files (no .venv, data or caches) into `to`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot list the source tree's files")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)


def _env(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTYARD_")}
    env["PYTHONPATH"] = str(copy)
    return env


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _new(copy: Path, name: str, spec: Path) -> subprocess.CompletedProcess[str]:
    return _run(copy, "-m", "agentyard.cli", "surfaces", "new", name, "--spec", str(spec))


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree with the toy surface scaffolded (specs/toy.yaml outside it)."""
    base = tmp_path_factory.mktemp("scaffold")
    tree = base / "repo"
    _copy_tree(tree)
    where = _run(tree, "-c", "import agentyard; print(agentyard.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(tree), where.stdout + where.stderr
    spec = base / "toy.yaml"
    spec.write_text(_spec(), encoding="utf-8")
    made = _new(tree, "toy", spec)
    assert made.returncode == 0, made.stdout + made.stderr
    return tree


def test_the_scaffold_writes_the_surface_and_codegen_its_scaffolds(copy: Path) -> None:
    for name in (
        "specs/toy.yaml",
        "agentyard/toy/__init__.py",
        "agentyard/toy/auth.py",
        "agentyard/toy/bootstrap.py",
        "agentyard/toy/errors.py",
        "agentyard/toy/surface.py",
        "handlers/toy/security.py",
        "tests/toy/conftest.py",
        "tests/toy/test_contract.py",
        "generated/toy/models.py",
    ):
        assert (copy / name).is_file(), name
        assert not (ROOT / name).exists(), f"{name} was written into the real tree"
    assert 'raise not_implemented("get_thing")' in (copy / "handlers/toy/things.py").read_text()
    listed = (copy / "agentyard/surfaces.py").read_text()
    assert re.search(r'PRODUCTS: tuple\[str, \.\.\.\] = \(.*"aisp".*, "toy"\)', listed)
    assert re.search(
        r"agentyard\.aisp \|.* \| agentyard\.toy\"", (copy / "pyproject.toml").read_text()
    )
    assert "toy" not in (ROOT / "agentyard/surfaces.py").read_text()


def test_the_generated_contract_test_passes_once_the_handlers_are_written(copy: Path) -> None:
    (copy / "handlers/toy/things.py").write_text(HANDLERS, encoding="utf-8")
    run = _run(copy, "-m", "pytest", "tests/toy/test_contract.py", "-q", "-p", "no:cacheprovider")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout and "2 subtests passed" in run.stdout, run.stdout[-2000:]


def test_a_surface_that_exists_is_refused(copy: Path) -> None:
    again = _new(copy, "toy", copy / "specs" / "toy.yaml")
    assert again.returncode != 0
    assert "exists already" in again.stderr
    taken = _new(copy, "hasp-ai", copy / "specs" / "toy.yaml")
    assert taken.returncode != 0 and "exists already" in taken.stderr, taken.stderr


def _lacking(copy: Path, cut: str) -> Path:
    """The toy spec for a surface `tiny`, without `cut` (a whole line when it ends in ':')."""
    spec = copy.parent / "lacking.yaml"
    text = _spec().replace("handlers.toy.", "handlers.tiny.")
    cut = cut.replace("handlers.toy.", "handlers.tiny.")
    assert cut in text
    lines = text.splitlines(keepends=True)
    if cut.endswith(":"):
        lines = [line for line in lines if not line.startswith(cut)]
    else:
        lines = [line.replace(cut, "", 1) for line in lines]
    spec.write_text("".join(lines), encoding="utf-8")
    return spec


@pytest.mark.parametrize(
    ("cut", "says"),
    [
        ("  securitySchemes:", "declares no security scheme"),
        ("security: [{ApiKey: []}]\n", "no operation is secured"),
        (", x-apikeyInfoFunc: handlers.toy.security.api_key_info", "x-apikeyInfoFunc"),
        ("x-openapi-router-controller: handlers.toy.things, ", "without an operationId"),
    ],
)
def test_a_spec_lacking_what_is_needed_is_refused(copy: Path, cut: str, says: str) -> None:
    with pytest.raises(scaffold.ScaffoldError, match=says):
        scaffold.plan("tiny", _lacking(copy, cut), root=copy)


def test_the_command_exits_non_zero_and_writes_nothing_when_it_refuses(copy: Path) -> None:
    spec = _lacking(copy, 'servers: [{url: "https://toy.example.com"}]\n')
    refused = _new(copy, "tiny", spec)
    assert refused.returncode != 0
    assert "names no servers" in refused.stderr, refused.stderr
    assert not [p for p in copy.rglob("*tiny*")]
    assert "tiny" not in (copy / "agentyard/surfaces.py").read_text()
