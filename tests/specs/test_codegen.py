"""codegen.py as its users run it, in a temporary copy of the project.

Add operations to a spec, run `python codegen.py`, start the server from the copy and call the
new paths (501 in the surface's error shape); a second run writes nothing; `--check` lists the
scaffolds, and fails naming duplicate or unresolvable operationIds and stale models.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["codegen.py", "pyproject.toml", "agentyard", "handlers", "generated", "specs"]

WIDGETS = {
    "/api/v1/widgets/{widgetId}": {
        "get": {
            "operationId": "getWidget",
            "x-openapi-router-controller": "handlers.aisp_hub.widgets",
            "summary": "Fetch a widget",
            "description": "A new operation, not written yet.",
            "tags": ["sessions"],
            "parameters": [
                {"name": "widgetId", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "pageSize", "in": "query", "schema": {"type": "integer"}},
            ],
            "responses": {
                "200": {
                    "description": "The widget.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        },
        "post": {
            "operationId": "touchSession",
            "x-openapi-router-controller": "handlers.aisp_hub.sessions",
            "summary": "Touch a widget",
            "description": "A new operation in an existing handler module.",
            "tags": ["sessions"],
            "parameters": [
                {"name": "widgetId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": {
                    "description": "Touched.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        },
    }
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def edit_spec(copy: Path, change) -> None:
    path = copy / "specs" / "aisp-hub.yaml"
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with two new operations in the AISP Hub spec, codegen run once."""
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, root / name)
    edit_spec(root, lambda spec: spec["paths"].update(WIDGETS))
    first = run(root, "codegen.py")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "scaffolded handlers/aisp_hub/widgets.py" in first.stdout
    assert "scaffolded handlers/aisp_hub/sessions.py" in first.stdout
    return root


def test_scaffolds_are_written_with_signature_and_docstring(copy: Path) -> None:
    widgets = (copy / "handlers" / "aisp_hub" / "widgets.py").read_text()
    assert "def getWidget(widget_id: str, page_size: int | None = None) -> dict:" in widgets
    assert '"""Fetch a widget."""' in widgets
    assert 'raise not_implemented("getWidget")' in widgets
    sessions = (copy / "handlers" / "aisp_hub" / "sessions.py").read_text()
    original = (ROOT / "handlers" / "aisp_hub" / "sessions.py").read_text()
    assert "def touchSession(widget_id: str, body: dict) -> dict:" in sessions
    # The existing functions are untouched: every original line is still there, in order.
    kept = iter(sessions.splitlines())
    assert all(line in kept for line in original.splitlines() if not line.startswith("from "))


def test_second_run_changes_nothing(copy: Path) -> None:
    before = tree_digest(copy)
    again = run(copy, "codegen.py")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "scaffolded" not in again.stdout
    assert tree_digest(copy) == before


def test_check_lists_the_scaffolds_and_passes(copy: Path) -> None:
    check = run(copy, "codegen.py", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "scaffold in place: getWidget" in check.stdout
    assert "scaffold in place: touchSession" in check.stdout
    before = run(ROOT, "codegen.py", "--check").stdout.count("scaffold in place:")
    assert check.stdout.count("scaffold in place:") == before + 2


def test_new_operations_answer_501_in_the_surface_shape(copy: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(copy), "AGENTYARD_DATA_DIR": str(tmp_path)}
    for var in ("DATABASE_URL", "REDIS_URL", "AGENTYARD_SURFACE"):
        env.pop(var, None)
    key = subprocess.run(
        [sys.executable, "-m", "agentyard.cli", "keys", "create", "--surface", "aisp-hub"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentyard.cli", "serve", "--port", str(port)],
        cwd=copy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/aisp-hub/api/v1/widgets/w1"
    try:
        deadline = time.time() + 30
        while True:
            try:
                got = httpx.get(base, headers={"X-AISP-Key": key}, params={"pageSize": 5})
                break
            except httpx.TransportError:
                assert time.time() < deadline, "server in the copy did not start"
                time.sleep(0.1)
        posted = httpx.post(base, headers={"X-AISP-Key": key}, json={"touch": True})
        unauthenticated = httpx.get(base)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert got.status_code == 501
    assert got.json() == {
        "error": {"code": "not_implemented", "message": "getWidget is not implemented yet"}
    }
    assert posted.status_code == 501
    assert posted.json()["error"]["message"] == "touchSession is not implemented yet"
    assert unauthenticated.status_code == 401  # security still applies to scaffolds


def test_check_fails_on_duplicate_and_unresolved_operation_ids(copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(copy, broken, ignore=shutil.ignore_patterns("__pycache__"))

    def break_it(spec: dict) -> None:
        widget = spec["paths"]["/api/v1/widgets/{widgetId}"]
        widget["get"]["operationId"] = "touchSession"  # now used twice
        orphan = dict(widget["post"], operationId="orphanOp")
        del orphan["x-openapi-router-controller"]  # resolves to nothing
        spec["paths"]["/api/v1/orphans/{widgetId}"] = {"post": orphan}

    edit_spec(broken, break_it)
    check = run(broken, "codegen.py", "--check")
    assert check.returncode == 1
    used_twice = "is used by GET /api/v1/widgets/{widgetId} and POST /api/v1/widgets/{widgetId}"
    assert f"operationId touchSession {used_twice}" in check.stdout
    assert "operationId orphanOp resolves to nothing" in check.stdout


def test_check_fails_on_stale_models_and_missing_handlers(copy: Path, tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    shutil.copytree(copy, stale, ignore=shutil.ignore_patterns("__pycache__"))

    def add(spec: dict) -> None:
        spec["components"]["schemas"]["Gadget"] = {
            "type": "object",
            "properties": {"size": {"type": "integer"}},
        }
        spec["paths"]["/api/v1/gadgets"] = {
            "get": dict(WIDGETS["/api/v1/widgets/{widgetId}"]["get"], operationId="listGadgets")
        }
        del spec["paths"]["/api/v1/gadgets"]["get"]["parameters"]

    edit_spec(stale, add)
    check = run(stale, "codegen.py", "--check")
    assert check.returncode == 1
    assert "+class Gadget(BaseModel):" in check.stdout  # the diff of the stale models
    assert "operationId listGadgets resolves to handlers.aisp_hub.widgets.listGadgets" in (
        check.stdout
    )
