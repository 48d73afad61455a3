"""HASP AI end to end: accept the BAA, call the gateway with the official `anthropic` SDK
(only `base_url` changed), stream a reply, export the signed audit log and verify it.

    pip install anthropic httpx    # (both come with `pip install -e ".[dev]"`)
    python examples/hasp_ai.py [wa_live_...]  # or HASP_AI_KEY (scopes ai:chat, control:read,
                                              # control:admin); else one with them is minted

Verification: the export, the org's published signing keys (`/v1/audit/keys`) and the
timestamp authority's CA are written to a temporary directory. With HASP's own verifier
on PATH (`hasp-verify`, github.com/UseHasp/verify: Node 20+ and openssl) the script runs it;
otherwise it runs the same five checks (schema, hash chain, published key, signatures, RFC
3161 anchor) in Python with agentyard's audit encoding, and prints the `hasp-verify` command.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import anthropic
import httpx
from _kit import BASE, expect, key, step
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BAA = {
    "signer_name": "Dana W",
    "signer_title": "Privacy Officer",
    "signer_email": "dana@clinic.example",
    "agree": True,
}


def accept_baa(control: httpx.Client) -> None:
    """Accept the current BAA version unless the org already has (402 BAA_REQUIRED until then)."""
    baa = expect(control.get("/v1/compliance/baa"), 200)["data"]
    if baa["status"] == "accepted":
        step(f"BAA {baa['current_version']} already accepted")
        return
    body = {"version": baa["current_version"], **BAA}
    expect(control.post("/v1/compliance/baa/acceptances", json=body), 201)
    step(f"BAA {baa['current_version']} accepted by {BAA['signer_name']}")


def spki(public: Any) -> bytes:
    """A public key's SubjectPublicKeyInfo DER: compares keys whatever their PEM layout."""
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_export(doc: dict[str, Any], keys: dict[str, Any], ca_pem: str) -> str:
    """HASP's five export checks in Python; the failing one as text, or '' when it verifies."""
    from agentyard.core.audit import entry_hash  # HASP's canonical twelve-field hash payload
    from agentyard.core.timestamping import TimestampError, verify_response

    entries, ver = doc["entries"], doc["verification"]
    if doc.get("schema_version") != "1.0" or doc["export"]["entry_count"] != len(entries):
        return "schema"
    for i, entry in enumerate(entries):
        if entry_hash(entry) != entry["hash"]:
            return f"chain: hash of entry {i + 1}"
        if i and entry["prev_hash"] != entries[i - 1]["hash"]:
            return f"chain: link at entry {i + 1}"
    if entries[-1]["hash"] != ver["chain_head_hash"]:
        return "chain: head"
    published = [
        k for k in keys["keys"] if k["key_id"] == ver["key_id"] and k["status"] != "revoked"
    ]
    if not published:
        return "published key: the export's key_id is not published"
    trusted = serialization.load_pem_public_key(published[0]["public_key_pem"].encode())
    if not isinstance(trusted, Ed25519PublicKey) or spki(trusted) != spki(
        serialization.load_pem_public_key(ver["public_key_pem"].encode())
    ):
        return "published key: the export's key is not the published one"
    for i, entry in enumerate(entries):
        algo, _, signature = entry["signature"].partition(":")
        try:
            trusted.verify(base64.b64decode(signature), entry["hash"].encode("ascii"))
        except (InvalidSignature, ValueError):
            return f"signatures: entry {i + 1} ({algo})"
    if not ver["tsa_anchor_chain"]:
        return "tsa: no anchor"
    for anchor in ver["tsa_anchor_chain"]:
        try:
            tsr = base64.b64decode(anchor["tsa_tsr_base64"])
            verify_response(tsr, anchor["anchored_data"].encode("ascii"), ca_pem=ca_pem)
        except TimestampError as exc:
            return f"tsa: {exc}"
    return ""


def main() -> None:
    api_key = key("hasp-ai", "HASP_AI_KEY", scopes="ai:chat,control:read,control:admin")
    gateway = f"{BASE}/hasp-ai"
    control = httpx.Client(
        base_url=gateway, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
    )
    accept_baa(control)

    client = anthropic.Anthropic(base_url=gateway, api_key=api_key)
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[
            {
                "role": "user",
                "content": "Summarize: Margaret Okafor, MRN 00482913, seen for a cough.",
            }
        ],
    )
    usage = message.usage
    step(f"messages.create: {message.id}, {usage.input_tokens} in / {usage.output_tokens} out")
    reply = "".join(b.text for b in message.content if isinstance(b, anthropic.types.TextBlock))
    step(f"  reply: {reply}")

    with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": "Say hello in five words."}],
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    step(f"messages.stream: {len(pieces)} text deltas, stop_reason {final.stop_reason}")
    step(f"  reply: {''.join(pieces)}")

    doc = expect(control.get("/v1/audit/export"), 200)
    keys = expect(control.get("/v1/audit/keys"), 200)
    ca_pem = expect(control.get("/v1/audit/tsa/cacert.pem"), 200)
    head, anchors = doc["verification"]["chain_head_hash"], doc["verification"]["tsa_anchor_chain"]
    entries = doc["export"]["entry_count"]
    step(f"audit export: {entries} entries, head {head[:12]}..., {len(anchors)} RFC 3161 anchor")

    folder = Path(tempfile.mkdtemp(prefix="hasp-audit-"))
    for name, text in [
        ("export.json", json.dumps(doc)),
        ("keys.json", json.dumps(keys)),
        ("ca.pem", ca_pem),
    ]:
        (folder / name).write_text(text)
    command = ["hasp-verify", "export.json", "--keys-file", "keys.json", "--ca-file", "ca.pem"]
    if shutil.which("hasp-verify"):
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
        for line in filter(None, done.stdout.splitlines()):
            step(f"  {line}")
        if done.returncode != 0:
            raise SystemExit(f"hasp-verify failed ({done.returncode}): {done.stderr.strip()}")
        step(f"verified by hasp-verify (files in {folder})")
    else:
        failure = check_export(doc, keys, ca_pem)
        if failure:
            raise SystemExit(f"audit export does not verify: {failure}")
        step("verified in Python: schema, chain, published key, signatures, TSA anchor")
        step("  HASP's own verifier: github.com/UseHasp/verify (npm i -g @usehasp/verify), then")
        step(f"  cd {folder} && {' '.join(command)}")
    step("done")


if __name__ == "__main__":
    main()
