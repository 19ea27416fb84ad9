"""The data layer against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from methods.core.errors import ChecksumError, DataError
from methods.data import fetch
from methods.data.registry import DatasetSpec, RemoteFile

PAYLOAD = b"effrepro test payload\n" * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; paths under /truncated/ promise more bytes than they send."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        if self.path.startswith("/truncated/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    (root / "upstream").mkdir(parents=True)
    (root / "upstream" / "data.bin").write_bytes(PAYLOAD)
    (root / "upstream" / "corrupt.bin").write_bytes(PAYLOAD[:-1] + b"X")
    (root / "mirror" / "toy").mkdir(parents=True)
    (root / "mirror" / "toy" / "data.bin").write_bytes(PAYLOAD)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    httpd.shutdown()
    httpd.server_close()


def _toy(monkeypatch, *files: RemoteFile, local=()):
    spec = DatasetSpec(name="toy", title="toy", licence="CC0", citation="none", homepage="", prepare=lambda r, o: None,
                       files=files, local=local)
    monkeypatch.setattr(fetch, "get_dataset", lambda name: spec)
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    return spec


def test_good_file_is_downloaded_verified_and_recorded(server, tmp_path, monkeypatch):
    base, _ = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/upstream/data.bin",)))
    manifest = fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=True)
    assert (tmp_path / "raw" / "data.bin").read_bytes() == PAYLOAD
    assert manifest["files"]["data.bin"]["source"] == f"{base}/upstream/data.bin"
    assert (tmp_path / "raw" / "MANIFEST.json").exists()
    assert not [p for p in (tmp_path / "raw").iterdir() if p.name.startswith(".tmp")]


def test_bad_checksum_deletes_the_file_and_names_file_expected_and_actual(server, tmp_path, monkeypatch):
    base, _ = server
    _toy(monkeypatch, RemoteFile("corrupt.bin", SHA, (f"{base}/upstream/corrupt.bin",)))
    with pytest.raises(ChecksumError) as error:
        fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=True, retries=1)
    message = str(error.value)
    actual = hashlib.sha256(PAYLOAD[:-1] + b"X").hexdigest()
    assert "corrupt.bin" in message and SHA in message and actual in message
    assert list((tmp_path / "raw").iterdir()) == []  # no file, no manifest, no temporary


def test_truncated_transfer_is_retried_then_fails_without_leaving_a_file(server, tmp_path, monkeypatch):
    base, httpd = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/truncated/data.bin",)))
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    with pytest.raises(DataError, match="failed after 3 attempts"):
        fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=True)
    assert httpd.requests.count("/truncated/data.bin") == 3
    assert list((tmp_path / "raw").iterdir()) == []


def test_404_on_one_mirror_falls_back_to_the_next(server, tmp_path, monkeypatch):
    base, httpd = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/upstream/missing.bin",)))
    monkeypatch.setenv(fetch.MIRROR_ENV, f"{base}/nowhere {base}/mirror")
    manifest = fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=True)
    assert manifest["files"]["data.bin"]["source"] == f"{base}/mirror/toy/data.bin"
    assert "/nowhere/toy/data.bin" in httpd.requests  # tried first, answered 404, not retried
    assert httpd.requests.count("/nowhere/toy/data.bin") == 1


def test_upstream_404_falls_back_to_a_directory_mirror(server, tmp_path, monkeypatch):
    base, _ = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/upstream/missing.bin",)))
    mirror = tmp_path / "dirmirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "data.bin").write_bytes(PAYLOAD)
    manifest = fetch.fetch_dataset("toy", tmp_path / "raw", mirrors=[str(mirror)], allow_download=True)
    assert manifest["files"]["data.bin"]["source"] == str(mirror / "toy" / "data.bin")


def test_without_download_upstream_is_not_contacted(server, tmp_path, monkeypatch):
    base, httpd = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/upstream/data.bin",)))
    with pytest.raises(DataError, match="download=true"):
        fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=False)
    assert httpd.requests == []


def test_present_file_with_the_right_hash_is_kept(server, tmp_path, monkeypatch):
    base, httpd = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/upstream/data.bin",)))
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "data.bin").write_bytes(PAYLOAD)
    manifest = fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=True)
    assert manifest["files"]["data.bin"]["source"] == "already present"
    assert httpd.requests == []


def test_corrupted_cached_file_is_fetched_again(server, tmp_path, monkeypatch):
    base, _ = server
    _toy(monkeypatch, RemoteFile("data.bin", SHA, (f"{base}/upstream/data.bin",)))
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "data.bin").write_bytes(PAYLOAD[:100])
    fetch.fetch_dataset("toy", tmp_path / "raw", allow_download=True)
    assert (tmp_path / "raw" / "data.bin").read_bytes() == PAYLOAD


def test_gzip_payload_hash_is_of_the_decompressed_bytes(tmp_path, monkeypatch):
    mirror = tmp_path / "m"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "data.gz").write_bytes(gzip.compress(PAYLOAD, compresslevel=1))
    _toy(monkeypatch, RemoteFile("data.gz", SHA, (), gzip_payload=True))
    fetch.fetch_dataset("toy", tmp_path / "raw", mirrors=[str(mirror)])
    assert gzip.decompress((tmp_path / "raw" / "data.gz").read_bytes()) == PAYLOAD


def test_mirror_environment_variable_is_split_on_whitespace_and_semicolons(monkeypatch):
    monkeypatch.setenv(fetch.MIRROR_ENV, "/a/b;http://127.0.0.1:8000/x  /c")
    assert fetch.mirror_prefixes(["/d"]) == ["/a/b", "http://127.0.0.1:8000/x", "/c", "/d"]


def test_shared_mirror_gives_the_registered_omniglot_bytes(tmp_path):
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (shared / "omniglot").is_dir():
        pytest.skip("the shared data mirror is not beside this checkout")
    manifest = fetch.fetch_dataset("omniglot", tmp_path / "raw", mirrors=[str(shared)])
    assert set(manifest["files"]) == {"images_background.npz", "images_evaluation.npz", "all_runs.zip"}
