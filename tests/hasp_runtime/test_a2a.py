"""JSON-RPC at /a2a/{project}/{workflow} over HTTP: auth refusals, `invoke`, the A2A methods
(v0.3 and v1.0 names and shapes), input-required tasks continued and canceled, error codes,
tenancy and the audit entry."""

from __future__ import annotations

import json

from agentyard.core import audit
from agentyard.core.keys import Tenant
from agentyard.core.store import connection
from agentyard.hasp import SURFACE as ORGS
from tests.hasp_runtime.conftest import ECHO, REVIEW, Runtime, message


def error(r) -> dict:
    body = r.json()
    assert body["jsonrpc"] == "2.0" and "result" not in body, body
    return body["error"]


def test_auth_refusals(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    params = {"input": {"note": "hi"}}
    none = rt.rpc(echo, "invoke", params, key=None)
    assert none.status_code == 401 and error(none)["code"] == -32020
    bad = rt.rpc(echo, "invoke", params, key="wa_live_" + "0" * 32)
    assert bad.status_code == 401 and error(bad)["data"]["code"] == "INVALID_API_KEY"
    other_org = rt.key("workflow:invoke", org=f"other-{rt.org}")
    wrong = rt.rpc(echo, "invoke", params, key=other_org)
    assert wrong.status_code == 403 and error(wrong)["data"]["code"] == "WRONG_ORG"
    assert error(wrong)["code"] == -32021
    chat_only = rt.key("ai:chat")
    scope = rt.rpc(echo, "invoke", params, key=chat_only)
    assert scope.status_code == 403
    assert error(scope)["data"]["code"] == "MISSING_SCOPE"
    assert error(scope)["data"]["details"]["required_scope"] == "workflow:invoke"


def test_invoke_runs_the_published_version_and_is_audited(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    key = rt.key("workflow:invoke")
    r = rt.rpc(echo, "invoke", {"input": {"note": "ankle sprain"}}, key=key, id="a-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "a-1"
    result = body["result"]
    assert result["status"] == "completed", result
    assert result["output"]["note"] == "ankle sprain" and result["output"]["summary"]
    assert result["release"]["id"].startswith("rel")
    with connection():
        org = Tenant.get((Tenant.surface == ORGS) & (Tenant.name == rt.org))
        entries = [e for e in audit.query(org, "workflow.invoked", None, None, None, 10)[0]]
    assert entries, "the invocation is audited"
    meta = entries[0].metadata
    assert meta["run_id"] == result["run_id"] and meta["release_id"] == result["release"]["id"]
    assert meta["api_key_id"] and meta["workflow"] == f"{echo[0]}/{echo[1]}"
    assert entries[0].project_id


def test_message_send_completes_with_the_artifact(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    key = rt.key("workflow:invoke")
    r = rt.rpc(echo, "message/send", message({"note": "knee"}, contextId="ctx-1"), key=key)
    assert r.status_code == 200, r.text
    task = r.json()["result"]
    assert task["kind"] == "task" and task["contextId"] == "ctx-1"
    assert task["status"]["state"] == "completed"
    [artifact] = task["artifacts"]
    assert artifact["parts"][0]["kind"] == "data"
    assert artifact["parts"][0]["data"]["note"] == "knee"
    got = rt.rpc(echo, "tasks/get", {"id": task["id"]}, key=key).json()["result"]
    assert got["id"] == task["id"] and got["status"]["state"] == "completed"
    again = rt.rpc(echo, "tasks/cancel", {"id": task["id"]}, key=key)
    assert again.status_code == 200 and error(again)["code"] == -32002


def test_text_parts_and_input_schema(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    key = rt.key("workflow:invoke")
    r = rt.rpc(echo, "message/send", message(text="just text"), key=key)
    assert r.status_code == 200
    assert error(r)["code"] == -32602  # {"text": ...} lacks the required `note`
    assert error(r)["data"]["details"]["errors"]
    files = rt.rpc(
        echo,
        "message/send",
        {"message": {"role": "user", "messageId": "m", "parts": [{"kind": "file", "file": {}}]}},
        key=key,
    )
    assert error(files)["code"] == -32005


def test_stream_sends_task_artifact_and_final_status(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    key = rt.key("workflow:invoke")
    body = {"jsonrpc": "2.0", "id": 7, "method": "message/stream", "params": message({"note": "x"})}
    url = rt.url(f"/a2a/{echo[0]}/{echo[1]}")
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    with rt.http.stream("POST", url, json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line[len("data: ") :])
            for line in r.iter_lines()
            if line.startswith("data: ")
        ]
    assert all(e["id"] == 7 and e["jsonrpc"] == "2.0" for e in events)
    kinds = [e["result"]["kind"] for e in events]
    assert kinds == ["task", "artifact-update", "status-update"]
    assert events[1]["result"]["artifact"]["parts"][0]["data"]["note"] == "x"
    assert events[2]["result"]["final"] is True
    assert events[2]["result"]["status"]["state"] == "completed"


def test_input_required_is_continued_by_the_next_message(rt: Runtime) -> None:
    review = rt.agent(REVIEW, name="Review")
    key = rt.key("workflow:invoke")
    first = rt.rpc(review, "message/send", message({"patient": "p1"}), key=key).json()["result"]
    assert first["status"]["state"] == "input-required", first
    request = first["status"]["message"]["parts"]
    assert request[0]["text"] == "Approve the discharge"
    assert request[1]["data"]["kind"] == "approval"
    task_id, context = first["id"], first["contextId"]
    reply = message({"approved": True, "comment": "fine"}, taskId=task_id, contextId=context)
    done = rt.rpc(review, "message/send", reply, key=key).json()["result"]
    assert done["id"] == task_id and done["status"]["state"] == "completed", done
    assert done["artifacts"][0]["parts"][0]["data"] == {"approved": True, "comment": "fine"}
    late = rt.rpc(review, "message/send", reply, key=key)
    assert error(late)["code"] == -32602


def test_cancel_an_input_required_task(rt: Runtime) -> None:
    review = rt.agent(REVIEW, name="Review")
    key = rt.key("workflow:invoke")
    task = rt.rpc(review, "message/send", message({}), key=key).json()["result"]
    assert task["status"]["state"] == "input-required"
    r = rt.rpc(review, "tasks/cancel", {"id": task["id"]}, key=key)
    assert r.json()["result"]["status"]["state"] == "canceled"
    got = rt.rpc(review, "tasks/get", {"id": task["id"]}, key=key).json()["result"]
    assert got["status"]["state"] == "canceled"


def test_v1_names_and_shapes(rt: Runtime) -> None:
    review = rt.agent(REVIEW, name="Review")
    key = rt.key("workflow:invoke")
    v1 = {"A2A-Version": "1.0"}
    params = {"message": {"role": "ROLE_USER", "messageId": "m1", "parts": [{"data": {}}]}}
    sent = rt.rpc(review, "SendMessage", params, key=key, headers=v1).json()["result"]
    task = sent["task"]
    assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED" and "kind" not in task
    got = rt.rpc(review, "GetTask", {"id": task["id"]}, key=key, headers=v1).json()["result"]
    assert got["id"] == task["id"]
    canceled = rt.rpc(review, "CancelTask", {"id": task["id"]}, key=key, headers=v1).json()
    assert canceled["result"]["status"]["state"] == "TASK_STATE_CANCELLED"
    old = rt.rpc(review, "GetTask", {"id": task["id"]}, key=key).json()["result"]
    assert old["status"]["state"] == "canceled"  # no header: v0.3 shapes
    bad = rt.rpc(review, "GetTask", {"id": task["id"]}, key=key, headers={"A2A-Version": "9"})
    assert error(bad)["code"] == -32009


def test_error_codes(rt: Runtime) -> None:
    echo = rt.agent(ECHO)
    key = rt.key("workflow:invoke")
    url = rt.url(f"/a2a/{echo[0]}/{echo[1]}")
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    parse = rt.http.post(url, content=b"{not json", headers=auth)
    assert parse.status_code == 400 and error(parse)["code"] == -32700
    invalid = rt.http.post(url, json={"jsonrpc": "1.0", "method": "x"}, headers=auth)
    assert invalid.status_code == 400 and error(invalid)["code"] == -32600
    batch = rt.http.post(url, json=[{"jsonrpc": "2.0", "method": "invoke"}], headers=auth)
    assert batch.status_code == 400 and error(batch)["code"] == -32600
    unknown = rt.rpc(echo, "nope/never", {}, key=key)
    assert unknown.status_code == 200 and error(unknown)["code"] == -32601
    params = rt.rpc(echo, "tasks/get", {}, key=key)
    assert error(params)["code"] == -32602
    missing = rt.rpc(echo, "tasks/get", {"id": "wfr_nope"}, key=key)
    assert error(missing)["code"] == -32001
    push = rt.rpc(echo, "tasks/pushNotificationConfig/set", {}, key=key)
    assert error(push)["code"] == -32003
    nowhere = rt.rpc((echo[0], "not-there"), "invoke", {}, key=key)
    assert nowhere.status_code == 404 and error(nowhere)["code"] == -32022
    draft = rt.agent(ECHO, name="Unpublished", publish_it=False)
    assert rt.rpc(draft, "invoke", {}, key=key).status_code == 404


def test_tasks_are_scoped_to_org_and_endpoint(rt: Runtime, studio) -> None:
    review = rt.agent(REVIEW, name="Review")
    echo = rt.agent(ECHO)
    key = rt.key("workflow:invoke")
    task = rt.rpc(review, "message/send", message({}), key=key).json()["result"]
    elsewhere = rt.rpc(echo, "tasks/get", {"id": task["id"]}, key=key)
    assert error(elsewhere)["code"] == -32001
    other = Runtime(rt.server, "", studio.member("owner"), rt.http)
    assert other.owner.account is not None
    other.org = other.owner.account.org
    theirs = other.agent(REVIEW, name="Review")
    their_key = other.key("workflow:invoke")
    r = other.rpc(theirs, "tasks/get", {"id": task["id"]}, key=their_key)
    assert error(r)["code"] == -32001
