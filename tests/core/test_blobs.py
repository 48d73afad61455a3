"""Blob storage, signed tokens, upload manifests, archives and client-supplied URLs."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import os
import stat
import subprocess
import sys
import threading
import uuid
import warnings
import zipfile
from pathlib import Path

import pytest

from agentyard.core import blobs, migrations
from agentyard.core.blobs import (
    ArchiveError,
    BlobNotFoundError,
    BlobSecret,
    ExpiredTokenError,
    HashMismatchError,
    InvalidTokenError,
    ManifestError,
    RefusedURLError,
    TooLargeError,
    WrongPurposeError,
)
from agentyard.core.store import connection

OWN = "https://yard.example/harness/v1/blobs/"


@pytest.fixture(scope="module")
def store(app, settings):
    """The configured database with the blobs migration, and blobs under the data dir."""
    migrations.upgrade()
    saved = blobs.configured()
    blobs.configure(settings.data_dir)
    yield settings
    blobs.restore(saved)


@pytest.fixture
def config(store):
    """Reconfigure blobs for one test (restored afterwards)."""
    saved = blobs.configured()

    def apply(**kwargs):
        return blobs.configure(store.data_dir, **kwargs)

    yield apply
    blobs.restore(saved)


def sri_of(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- storage --------------------------------------------------------------------------------


def test_file_store_round_trip_and_dedup(tmp_path):
    fs = blobs.FileBlobStore(tmp_path / "blobs")
    digest = fs.put(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    path = tmp_path / "blobs" / digest[:2] / digest
    assert path.read_bytes() == b"hello"
    assert fs.put(b"hello") == digest  # dedup: same name, one file
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [digest]
    assert fs.exists(digest) and fs.size(digest) == 5 and fs.get(digest) == b"hello"
    with fs.open(digest) as handle:
        assert handle.read(2) == b"he"
    empty = fs.put(b"")
    assert fs.get(empty) == b""
    assert fs.delete(digest) is True and fs.delete(digest) is False
    assert not fs.exists(digest)
    with pytest.raises(BlobNotFoundError):
        fs.get(digest)
    with pytest.raises(BlobNotFoundError):
        fs.size(digest)
    for bad in ("../../etc/passwd", digest.upper(), digest[:-1], ""):
        with pytest.raises(ValueError):
            fs.exists(bad)


def test_file_store_concurrent_puts(tmp_path):
    fs = blobs.FileBlobStore(tmp_path)
    data = os.urandom(256 * 1024)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(fs.put(data))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and fs.get(results[0]) == data
    assert list((tmp_path / "tmp").iterdir()) == []  # no temp files left behind


# --- tokens ---------------------------------------------------------------------------------

KEY_A = b"a" * 32
KEY_B = b"b" * 32


def test_token_round_trip_is_url_safe():
    signer = blobs.Signer([KEY_A])
    token = signer.sign("blob-upload", {"n": "dir/ü.txt", "k": [1, 2]}, 60)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert signer.verify(token, "blob-upload") == {"n": "dir/ü.txt", "k": [1, 2]}


def test_token_expiry():
    signer = blobs.Signer([KEY_A])
    token = signer.sign("p", {}, 10, now=1000)
    assert signer.verify(token, "p", now=1009.9) == {}
    with pytest.raises(ExpiredTokenError):
        signer.verify(token, "p", now=1010)
    for ttl in (0, -1):
        with pytest.raises(ExpiredTokenError):
            signer.verify(signer.sign("p", {}, ttl), "p")


def test_token_tamper_wrong_purpose_and_keys():
    signer = blobs.Signer([KEY_A])
    token = signer.sign("blob-upload", {"d": "x"}, 60)
    payload, mac = token.split(".")
    forged = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b'"x"', b'"y"')
    )
    for bad in (
        forged.decode().rstrip("=") + "." + mac,
        payload + "." + mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"),
        payload,
        token + ".x",
        "",
        "a" * 5000 + ".b",
        "!!.??",
    ):
        with pytest.raises(InvalidTokenError) as info:
            signer.verify(bad, "blob-upload")
        assert not isinstance(info.value, WrongPurposeError)
    with pytest.raises(WrongPurposeError):
        signer.verify(token, "blob-download")
    with pytest.raises(InvalidTokenError):
        blobs.Signer([KEY_B]).verify(token, "blob-upload")
    # rotation: a new first key signs, the old one still verifies
    rotated = blobs.Signer([KEY_B, KEY_A])
    assert rotated.verify(token, "blob-upload") == {"d": "x"}
    assert blobs.Signer([KEY_B]).verify(rotated.sign("p", {}, 60), "p") == {}
    assert blobs.ExpiredToken is ExpiredTokenError and blobs.InvalidToken is InvalidTokenError


def test_signing_keys_from_configuration(config):
    stored_token = blobs.sign("p", {"a": 1}, 60)  # persisted key
    config(signing_keys="k" * 32 + ", " + "j" * 32)
    assert blobs.signing_keys() == (b"k" * 32, b"j" * 32)
    with pytest.raises(InvalidTokenError):
        blobs.verify(stored_token, "p")
    assert blobs.Signer([b"k" * 32]).verify(blobs.sign("p", {"b": 2}, 60), "p") == {"b": 2}
    assert blobs.verify(blobs.Signer([b"j" * 32]).sign("p", {"c": 3}, 60), "p") == {"c": 3}
    with pytest.raises(ValueError, match="at least 32"):
        config(signing_keys="short")


def test_persisted_key_is_reused(store):
    token = blobs.sign("p", {"a": 1}, 60)
    blobs._secrets.clear()  # as a new process would
    assert blobs.verify(token, "p") == {"a": 1}
    with connection():
        assert BlobSecret.select().where(BlobSecret.name == "url-signing").count() == 1


def test_persisted_key_creation_is_race_safe_in_threads(store):
    name = "test-" + uuid.uuid4().hex[:12]
    barrier = threading.Barrier(6)
    results: list[bytes] = []

    def create():
        barrier.wait()
        results.append(blobs._stored_secret(name))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and len(set(results)) == 1 and len(results[0]) == 32
    with connection():
        assert BlobSecret.select().where(BlobSecret.name == name).count() == 1


CHILD = """
import sys, time
from pathlib import Path
from agentyard.core import blobs, store
url, data_dir, name, go, token = sys.argv[1:]
store.open_database(url or None, Path(data_dir))
blobs.configure(data_dir)
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.005)
secret = blobs._stored_secret(name)
print(secret.hex(), blobs.verify(token, "p")["who"], blobs.sign("p", {"who": "child"}, 60))
"""


def test_persisted_key_is_shared_by_processes(store, tmp_path):
    name, go = "test-" + uuid.uuid4().hex[:12], tmp_path / "go"
    token = blobs.sign("p", {"who": "parent"}, 60)
    env = {k: v for k, v in os.environ.items() if k != blobs.SIGNING_KEY_ENV}
    args = [store.database_url or "", str(store.data_dir), name, str(go), token]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    go.touch()
    mine = blobs._stored_secret(name).hex()
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        secret, who, child_token = out.split()
        assert secret == mine and who == "parent"
        assert blobs.verify(child_token, "p") == {"who": "child"}
    with connection():
        assert BlobSecret.select().where(BlobSecret.name == name).count() == 1


# --- names, hashes, manifests ---------------------------------------------------------------


def test_declare_accepts_and_canonicalizes():
    digest = hashlib.sha256(b"x").digest()
    urlsafe = "sha256-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    files = blobs.declare(
        [{"name": "b/c.txt", "hash": sri_of(b"x")}, {"name": "a.txt", "hash": urlsafe}]
    )
    assert [f.name for f in files] == ["b/c.txt", "a.txt"]
    assert files[1].hash == sri_of(b"x") and files[1].digest == digest.hex()
    assert blobs.manifest(files) == {"b/c.txt": digest.hex(), "a.txt": digest.hex()}
    assert blobs.sri(digest.hex()) == sri_of(b"x")
    assert blobs.declare([]) == []
    long_ok = "d/" * 100 + "x" * 312
    assert blobs.declare([{"name": long_ok, "hash": sri_of(b"")}])[0].name == long_ok


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "../evil",
        "a/../../b",
        "a/./b",
        "./a",
        "a//b",
        "a/",
        "..",
        "C:/windows",
        "c:evil",
        "a\\..\\b",
        "nul\x00byte",
        "tab\tname",
        "x" * 513,
        None,
        7,
    ],
)
def test_declare_refuses_bad_names(name):
    with pytest.raises(ManifestError, match=r"files\[0\]"):
        blobs.declare([{"name": name, "hash": sri_of(b"x")}])


@pytest.mark.parametrize(
    "value",
    [
        "sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode(),
        "sha256-" + base64.b64encode(b"short").decode(),
        "sha256-" + "!" * 43 + "=",
        hashlib.sha256(b"x").hexdigest(),
        "SHA256-" + base64.b64encode(hashlib.sha256(b"x").digest()).decode(),
        "sha256-" + base64.b64encode(hashlib.sha256(b"x").digest()).decode() + "==",
        None,
    ],
)
def test_declare_refuses_bad_hashes(value):
    with pytest.raises(ManifestError, match="sha256-"):
        blobs.declare([{"name": "a", "hash": value}])


def test_declare_refuses_bad_lists(store):
    h = sri_of(b"x")
    with pytest.raises(ManifestError, match="duplicate"):
        blobs.declare([{"name": "a", "hash": h}, {"name": "a", "hash": h}])
    with pytest.raises(ManifestError, match="both a file and a directory"):
        blobs.declare([{"name": "a/b", "hash": h}, {"name": "a", "hash": h}])
    with pytest.raises(ManifestError, match="more than 1000"):
        blobs.declare([{"name": f"f{i}", "hash": h} for i in range(1001)])
    assert len(blobs.declare([{"name": f"f{i}", "hash": h} for i in range(1000)])) == 1000
    for bad in ({"name": "a", "hash": h}, "a", [["a", h]]):
        with pytest.raises(ManifestError):
            blobs.declare(bad)


# --- uploads --------------------------------------------------------------------------------


def test_upload_flow(store):
    one, two = os.urandom(100), os.urandom(100)
    files = blobs.declare(
        [{"name": "one.bin", "hash": sri_of(one)}, {"name": "d/two.bin", "hash": sri_of(two)}]
    )
    tokens = {f.name: blobs.upload_token(f, 60, {"bundle": "ver_1"}) for f in files}
    assert blobs.missing(files) == ["one.bin", "d/two.bin"]
    got = blobs.receive(tokens["one.bin"], one)
    assert got == blobs.Received("one.bin", hashlib.sha256(one).hexdigest(), {"bundle": "ver_1"})
    assert blobs.receive(tokens["one.bin"], one) == got  # idempotent
    assert blobs.missing(files) == ["d/two.bin"]
    with pytest.raises(HashMismatchError):
        blobs.receive(tokens["d/two.bin"], one)
    with pytest.raises(HashMismatchError):
        blobs.receive(tokens["d/two.bin"], two + b"!")
    assert blobs.missing(files) == ["d/two.bin"]
    blobs.receive(tokens["d/two.bin"], two)
    assert blobs.missing(files) == []
    assert blobs.store().get(files[1].digest) == two


def test_upload_refusals(store, config):
    data = b"z" * 2000
    [f] = blobs.declare([{"name": "z", "hash": sri_of(data)}])
    with pytest.raises(ExpiredTokenError):
        blobs.receive(blobs.upload_token(f, -1), data)
    with pytest.raises(WrongPurposeError):
        blobs.receive(blobs.download_token(blobs.store().put(b"q"), 60), data)
    with pytest.raises(InvalidTokenError):
        blobs.receive(blobs.sign(blobs.PURPOSE_UPLOAD, {"n": 1}, 60), data)
    config(max_file_bytes=1000)
    with pytest.raises(TooLargeError):
        blobs.receive(blobs.upload_token(f, 60), data)
    assert not blobs.store().exists(f.digest)


def test_download_tokens(store):
    digest = blobs.store().put(b"archive bytes")
    token = blobs.download_token(digest, 60, {"file": "v.zip"})
    assert blobs.redeem_download(token) == (digest, {"file": "v.zip"})
    with pytest.raises(ExpiredTokenError):
        blobs.redeem_download(token, now=10**11)
    with pytest.raises(WrongPurposeError):
        blobs.verify(token, blobs.PURPOSE_UPLOAD)
    gone = blobs.download_token(hashlib.sha256(b"never stored").hexdigest(), 60)
    with pytest.raises(BlobNotFoundError):
        blobs.redeem_download(gone)


# --- archives -------------------------------------------------------------------------------


def test_archive_is_deterministic_and_exact(store):
    s = blobs.store()
    files = {
        "z.txt": s.put(b"last"),
        "a/b.txt": s.put(b"first" * 100),
        "a/c.txt": s.put(b"first" * 100),  # same bytes, two names
        "empty": s.put(b""),
    }
    one = blobs.build_archive(files)
    two = blobs.build_archive(dict(reversed(list(files.items()))))
    assert one == two
    with zipfile.ZipFile(io.BytesIO(one)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["a/b.txt", "a/c.txt", "empty", "z.txt"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {stat.S_IFREG | 0o644}
    assert blobs.read_archive(one) == {
        "a/b.txt": b"first" * 100,
        "a/c.txt": b"first" * 100,
        "empty": b"",
        "z.txt": b"last",
    }
    assert blobs.build_archive({}) == blobs.build_archive({})
    with pytest.raises(BlobNotFoundError):
        blobs.build_archive({"x": hashlib.sha256(b"never stored").hexdigest()})
    with pytest.raises(ManifestError):
        blobs.build_archive({"../x": files["z.txt"]})


def test_build_archive_respects_the_size_cap(store, config):
    digest = blobs.store().put(b"0" * 2048)
    config(max_archive_bytes=1024)
    with pytest.raises(TooLargeError):
        blobs.build_archive({"big": digest})


def _zip(*entries, mode: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(buffer, "w", mode) as archive:
            for entry in entries:
                if isinstance(entry, zipfile.ZipInfo):
                    archive.writestr(entry, b"data")
                else:
                    name, data = entry
                    archive.writestr(name, data)
    return buffer.getvalue()


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def _encrypted() -> bytes:
    """A one-entry zip whose headers say "encrypted" (zipfile cannot write such entries)."""
    data = bytearray(_zip(("secret", b"data")))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at] |= 0x1
    return bytes(data)


def _nul_named() -> bytes:
    """A zip whose member is named `a\\x00b.txt` (zipfile would cut the name at the NUL)."""
    data = _zip(("aXb.txt", b"x"), ("ok.txt", b"y"))
    assert data.count(b"aXb.txt") == 2  # local header and central directory
    return data.replace(b"aXb.txt", b"a\x00b.txt")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(_nul_named(), "NUL", id="nul-in-name"),
        pytest.param(
            _zip(("a", b"x")) + b"trailing garbage", "after the end", id="trailing-garbage"
        ),
        pytest.param(_zip(("a", b"x")) + b"\0" * 8, "after the end", id="trailing-zeros"),
        pytest.param(b"MZ prefix" + _zip(("a", b"x")), "does not start", id="leading-bytes"),
        pytest.param(_zip(("../evil.sh", b"x")), "unsafe entry name", id="dotdot"),
        pytest.param(_zip(("a/../../evil.sh", b"x")), "unsafe entry name", id="nested-dotdot"),
        pytest.param(_zip(("/etc/cron.d/x", b"x")), "unsafe entry name", id="absolute"),
        pytest.param(_zip(("..\\evil.bat", b"x")), "unsafe entry name", id="backslash"),
        pytest.param(_zip(("C:/evil", b"x")), "unsafe entry name", id="drive"),
        pytest.param(_zip(("../", b"")), "unsafe entry name", id="dotdot-dir"),
        pytest.param(_zip(("a.txt", b"1"), ("a.txt", b"2")), "duplicate", id="duplicate"),
        pytest.param(
            _zip(("a", b"1"), ("a/b", b"2")), "both a file and a directory", id="file-and-dir"
        ),
        pytest.param(
            _zip(("a", b"1"), _info("a/", stat.S_IFDIR | 0o755)),
            "both a file and a directory",
            id="file-and-dir-entry",
        ),
        pytest.param(_zip(_info("link", stat.S_IFLNK | 0o777)), "not a regular file", id="symlink"),
        pytest.param(_encrypted(), "encrypted", id="encrypted"),
        pytest.param(_zip(("bomb", b"\0" * (3 * 1024 * 1024))), "uncompressed", id="bomb"),
        pytest.param(
            _zip(*[(f"f{i}", b"") for i in range(11)]), "more than 10 files", id="too-many"
        ),
        pytest.param(b"not a zip at all", "not a readable zip", id="garbage"),
        pytest.param(_zip(("a", b"x"))[:-30], "not a readable zip", id="truncated"),
    ],
)
def test_read_archive_refuses_malicious_archives(data, message):
    with pytest.raises(ArchiveError, match=message):
        blobs.read_archive(data, max_total_bytes=1024 * 1024, max_files=10)


def test_read_archive_counts_inflated_bytes_not_headers():
    """A header that under-states the size does not get past the cap (CRC or count fails)."""
    data = bytearray(_zip(("bomb", b"\0" * (2 * 1024 * 1024))))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("bomb")
    real = (2 * 1024 * 1024).to_bytes(4, "little")
    assert data.count(real) == 2  # local header and central directory
    data = bytearray(bytes(data).replace(real, (10).to_bytes(4, "little")))
    with pytest.raises(ArchiveError):
        blobs.read_archive(bytes(data), max_total_bytes=1024 * 1024)
    assert info.file_size == 2 * 1024 * 1024


def test_read_archive_accepts_directories_and_unicode():
    data = _zip(_info("dir/", stat.S_IFDIR | 0o755), ("dir/ü.txt", b"u"), ("top", b"t"))
    assert blobs.read_archive(data) == {"dir/ü.txt": b"u", "top": b"t"}


def test_read_archive_accepts_an_archive_comment_and_an_empty_archive():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a", b"x")
        archive.comment = b"made by a tool that leaves a comment"
    assert blobs.read_archive(buffer.getvalue()) == {"a": b"x"}
    assert blobs.read_archive(_zip()) == {}


# --- client-supplied URLs -------------------------------------------------------------------


def test_token_from_url():
    token = blobs.Signer([KEY_A]).sign("p", {}, 60)
    assert blobs.token_from_url(OWN + token, [OWN]) == token
    assert (
        blobs.token_from_url("HTTPS://Yard.Example:443/harness/v1/blobs/" + token, [OWN]) == token
    )
    for url in (
        "https://evil.example/harness/v1/blobs/" + token,
        "http://yard.example/harness/v1/blobs/" + token,
        "https://yard.example:8443/harness/v1/blobs/" + token,
        OWN + token + "?x=1",
        OWN + token + "#x",
        OWN + "sub/" + token,
        OWN + "../blobs/" + token,
        OWN + "%2e%2e/" + token,
        "https://user@yard.example/harness/v1/blobs/" + token,
        OWN,
        "not a url",
    ):
        assert blobs.token_from_url(url, [OWN]) is None, url


def test_read_url_reads_own_download_urls(store):
    digest = blobs.store().put(b"own bytes")
    assert blobs.read_url(OWN + blobs.download_token(digest, 60), [OWN]) == b"own bytes"
    with pytest.raises(ExpiredTokenError):
        blobs.read_url(OWN + blobs.download_token(digest, -1), [OWN])
    with pytest.raises(RefusedURLError):
        blobs.read_url("https://elsewhere.example/x.zip", [OWN])
    with pytest.raises(RefusedURLError):
        blobs.read_url("file:///etc/passwd", [OWN])


@pytest.fixture
def storage_server():
    """A local HTTP server: /ok.zip (200), /big (2 KiB), /missing (404)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/bucket/ok.zip": b"zip bytes", "/bucket/big": b"0" * 2048}.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/bucket/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_fetch_allowed_storage_urls(store, config, storage_server):
    url = storage_server + "ok.zip"
    with pytest.raises(RefusedURLError, match="not an allowed"):
        blobs.read_url(url, [OWN])  # nothing allowed by default
    config(fetch_allow=storage_server)
    with pytest.raises(RefusedURLError, match="not public"):
        blobs.read_url(url, [OWN])  # 127.0.0.1 is not public
    config(fetch_allow=storage_server, fetch_allow_private="127.0.0.1/32", max_archive_bytes=1024)
    assert blobs.read_url(url, [OWN]) == b"zip bytes"
    with pytest.raises(TooLargeError):
        blobs.fetch(storage_server + "big")
    with pytest.raises(RefusedURLError, match="404"):
        blobs.fetch(storage_server + "missing")
    with pytest.raises(RefusedURLError, match="not an allowed"):
        blobs.fetch(storage_server.replace("/bucket/", "/other/x"))
    with pytest.raises(RefusedURLError, match="not an allowed"):
        blobs.fetch(storage_server + "../other/x")
    with pytest.raises(ValueError):
        config(fetch_allow="ftp://example.com/")


def test_configure_from_env(monkeypatch, tmp_path):
    saved = blobs.configured()
    try:
        monkeypatch.setenv(blobs.SIGNING_KEY_ENV, "s" * 40)
        monkeypatch.setenv(blobs.MAX_FILE_BYTES_ENV, "123")
        monkeypatch.setenv(blobs.FETCH_ALLOW_ENV, "https://a.example/x/, https://b.example/")
        cfg = blobs.configure_from_env(tmp_path)
        assert cfg.signing_keys == (b"s" * 40,) and cfg.max_file_bytes == 123
        assert cfg.fetch_allow == ("https://a.example/x/", "https://b.example/")
        assert isinstance(cfg.store, blobs.FileBlobStore)
        assert cfg.store.root == Path(tmp_path) / "blobs"
        assert "sss" not in repr(cfg)
    finally:
        blobs.restore(saved)
