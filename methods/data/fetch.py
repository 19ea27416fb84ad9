"""Fetching a dataset's files: mirrors, package sources, upstream; verified, atomic, resumable.

Every file is written to a temporary name in its folder, its SHA-256 verified (its md5 where
upstream publishes only that; the manifest then records the SHA-256 received), then renamed. A
mismatch deletes the file; if no other source gives the right bytes, :class:`ChecksumError`
names the file, the expected and the actual hash. Files already present with the right hash are
kept, so an interrupted fetch resumes where it stopped.

A dataset with an :class:`~methods.data.registry.OpenMLSource` is fetched by scikit-learn's
``fetch_openml`` instead, with the raw folder as its ``data_home``: its cache lands in
``<raw>/openml/`` and ``fetch_openml`` checks the data file against the md5 that OpenML publishes.
A directory mirror holding ``<mirror>/<dataset>/openml/`` (a copy of that raw folder, or of any
``data_home`` that ``fetch_openml(data_id=...)`` filled) is copied in first; URL mirrors cannot be
listed and are skipped. Without ``download`` no request leaves the machine: a cache file that no
mirror provided is an error.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from methods.core import atomic
from methods.core.errors import ChecksumError, DataError

from .archive import extract
from .registry import DatasetSpec, DebianSource, OpenMLSource, PipSource, RemoteFile, get_dataset

MIRROR_ENV = "EFFREPRO_MIRROR"
OPENML_UPSTREAM = "https://www.openml.org"
log = logging.getLogger(__name__)
_CHUNK = 1 << 20


def mirror_prefixes(configured: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Mirrors from ``$EFFREPRO_MIRROR`` (separated by whitespace or ';') then the config's."""
    from_env = [p for p in re.split(r"[\s;]+", os.environ.get(MIRROR_ENV, "")) if p]
    return from_env + [p for p in configured if p]


def _is_url(prefix: str) -> bool:
    return re.match(r"^[a-z][a-z0-9+.-]*://", prefix) is not None


def payload_sha256(path: Path, gzip_payload: bool = False) -> str:
    return payload_digest(path, "sha256", gzip_payload)


def payload_digest(path: Path, algorithm: str, gzip_payload: bool = False) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file's bytes, or of its gunzipped payload."""
    digest = hashlib.new(algorithm)
    opener = gzip.open if gzip_payload else open
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except (OSError, EOFError) as error:  # a truncated gzip stream
        return f"unreadable ({error.__class__.__name__}: {error})"
    return digest.hexdigest()


def _verified_copy(write_into, target: Path, spec: RemoteFile, origin: str) -> None:
    """Let ``write_into(tmp_path)`` produce the bytes, verify them, and rename onto ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write_into(tmp)
        algorithm, expected = spec.checksum
        actual = payload_digest(tmp, algorithm, spec.gzip_payload)
        if actual != expected:
            raise ChecksumError(f"{target} (from {origin})", expected, actual, algorithm)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def download(url: str, target: Path, spec: RemoteFile, timeout: float = 30.0, retries: int = 3) -> None:
    """Download ``url`` to ``target`` with a timeout, retries with back-off, and verification.

    Client errors (404 and the like) are not retried; network errors and truncated transfers are.
    """
    def write_into(tmp: Path) -> None:
        request = urllib.request.Request(url, headers={"User-Agent": "effrepro"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, _CHUNK)
            promised = response.headers.get("Content-Length")
            if promised is not None and out.tell() != int(promised):
                raise ConnectionError(f"transfer truncated: {out.tell()} of {promised} bytes")

    for attempt in range(1, retries + 1):
        try:
            _verified_copy(write_into, target, spec, url)
            return
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500:
                raise DataError(f"{url}: HTTP {error.code}") from error
            last = error
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            if isinstance(error, ChecksumError):
                raise
            last = error
        if attempt < retries:
            time.sleep(min(2.0 ** (attempt - 1), 8.0))
    raise DataError(f"{url}: failed after {retries} attempts ({last})")


def _copy_local(source: Path, target: Path, spec: RemoteFile) -> None:
    _verified_copy(lambda tmp: shutil.copyfile(source, tmp), target, spec, str(source))


class _PackageFiles:
    """Finds a file in a package source, extracting a downloaded .deb once per fetch."""

    def __init__(self) -> None:
        self._extracted: dict[str, Path] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="effrepro-pkg-")

    def close(self) -> None:
        self._tmp.cleanup()

    def locate(self, source, name: str) -> Path | None:
        if isinstance(source, PipSource):
            import importlib.metadata

            try:
                dist = importlib.metadata.distribution(source.distribution)
                path = Path(dist.locate_file(Path(source.subdirectory) / name))
                if path.is_file():
                    return path
            except importlib.metadata.PackageNotFoundError:
                pass
            root = self._extract_wheel(source)
            candidate = root / source.subdirectory / name if root is not None else None
            return candidate if candidate is not None and candidate.is_file() else None
        installed = Path(source.directory) / name
        if installed.is_file():
            return installed
        root = self._extract_deb(source)
        if root is None:
            return None
        candidate = root / source.directory.lstrip("/") / name
        return candidate if candidate.is_file() else None

    def _extract_wheel(self, source: PipSource) -> Path | None:
        """Download the pinned wheel without its dependencies and unpack it (a wheel is a zip)."""
        key = f"pip:{source.distribution}"
        if key in self._extracted:
            return self._extracted[key]
        root = None
        if source.version:
            work = Path(self._tmp.name) / key.replace(":", "-")
            work.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                       "-d", str(work), f"{source.distribution}=={source.version}"]
            try:
                subprocess.run(command, check=True, capture_output=True, timeout=600)
                wheel = next(work.glob("*.whl"))
                extract(wheel, work / "root")
                root = work / "root"
            except (subprocess.SubprocessError, StopIteration, OSError, DataError) as error:
                log.warning("could not get the wheel of %s==%s: %s", source.distribution, source.version, error)
        self._extracted[key] = root
        return root

    def _extract_deb(self, source: DebianSource) -> Path | None:
        if source.package in self._extracted:
            return self._extracted[source.package]
        root = None
        if shutil.which("apt-get") and shutil.which("dpkg-deb"):
            work = Path(self._tmp.name) / source.package
            work.mkdir(parents=True, exist_ok=True)
            try:
                _apt_download(source.package, work)
                deb = next(work.glob("*.deb"))
                subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "root")], check=True,
                               capture_output=True, timeout=600)
                root = work / "root"
            except (subprocess.SubprocessError, StopIteration, OSError) as error:
                log.warning("could not get Debian package %s: %s", source.package, error)
        self._extracted[source.package] = root
        return root


def _apt_download(package: str, folder: Path) -> None:
    """``apt-get download`` a package; refresh stale package lists once if that fails (as root)."""
    command = ["apt-get", "download", package]
    try:
        subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=600)
    except subprocess.CalledProcessError:
        if os.geteuid() != 0:
            raise
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600)
        subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=600)


def fetch_dataset(
    name: str,
    raw_dir: Path,
    mirrors: list[str] | tuple[str, ...] = (),
    allow_download: bool = False,
    timeout: float = 30.0,
    retries: int = 3,
) -> dict:
    """Bring every file of dataset ``name`` into ``raw_dir``, verified; write ``MANIFEST.json``.

    Returns the manifest: for each file, its SHA-256 and the source it came from (for an OpenML
    dataset, the files of scikit-learn's cache, and OpenML's description under ``openml``).
    """
    spec: DatasetSpec = get_dataset(name)
    raw_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"dataset": name, "licence": spec.licence, "citation": spec.citation, "files": {}}
    if spec.openml is not None:
        manifest["openml"], manifest["files"] = _fetch_openml(spec, raw_dir, mirror_prefixes(mirrors), allow_download,
                                                              retries)
    else:
        packages = _PackageFiles()
        try:
            for remote in spec.files:
                target = raw_dir / remote.name
                source = _fetch_file(spec, remote, target, mirror_prefixes(mirrors), packages, allow_download,
                                     timeout, retries)
                manifest["files"][remote.name] = _manifest_entry(remote, target, source)
        finally:
            packages.close()
    atomic.write_json(raw_dir / "MANIFEST.json", manifest)
    return manifest


def _manifest_entry(remote: RemoteFile, target: Path, source: str) -> dict:
    """The SHA-256 of a fetched file; for a file checked by its published md5, the SHA-256 of what was
    received (computed here) beside that md5."""
    entry = {"sha256": remote.sha256 or payload_sha256(target, remote.gzip_payload),
             "payload": "gunzipped" if remote.gzip_payload else "file", "source": source}
    if remote.md5:
        entry.update(md5=remote.md5, checked="md5 (the only checksum published upstream)")
    return entry


def _fetch_file(spec, remote, target, mirrors, packages, allow_download, timeout, retries) -> str:
    if target.exists():
        algorithm, expected = remote.checksum
        if payload_digest(target, algorithm, remote.gzip_payload) == expected:
            return "already present"
        log.warning("%s has the wrong hash; fetching it again", target)
        target.unlink()
    failures: list[str] = []
    mismatch: ChecksumError | None = None

    def attempt(origin: str, action) -> bool:
        nonlocal mismatch
        try:
            action()
            log.info("%s: %s from %s", spec.name, remote.name, origin)
            return True
        except ChecksumError as error:
            mismatch = mismatch or error
            failures.append(f"{origin}: checksum mismatch")
        except DataError as error:
            failures.append(f"{origin}: {error}")
        return False

    for prefix in mirrors:
        if _is_url(prefix):
            url = f"{prefix.rstrip('/')}/{spec.name}/{remote.name}"
            if attempt(url, lambda: download(url, target, remote, timeout, retries)):
                return url
        else:
            path = Path(prefix) / spec.name / remote.name
            if not path.is_file():
                failures.append(f"{path}: not found")
            elif attempt(str(path), lambda: _copy_local(path, target, remote)):
                return str(path)
    for source in spec.local:
        path = packages.locate(source, remote.name)
        label = f"{type(source).__name__}({getattr(source, 'package', getattr(source, 'distribution', ''))})"
        if path is None:
            failures.append(f"{label}: not available")
        elif attempt(f"{label} {path}", lambda: _copy_local(path, target, remote)):
            return f"{label} {path}"
    if allow_download:
        for url in remote.urls:
            if attempt(url, lambda: download(url, target, remote, timeout, retries)):
                return url
    elif remote.urls:
        failures.append("upstream: not tried (download is off; set --config download=true)")
    if mismatch is not None:
        raise mismatch
    raise DataError(f"dataset '{spec.name}': could not fetch {remote.name}; tried " + "; ".join(failures))


class _Offline(urllib.request.BaseHandler):
    """Refuses every HTTP(S) request: with download off, ``fetch_openml`` may only read its cache."""

    handler_order = 0  # before urllib's proxy and HTTP handlers

    def http_open(self, request):
        raise urllib.error.URLError(f"{request.full_url} not requested: download is off (set --config download=true)")

    https_open = http_open


@contextlib.contextmanager
def _network(allowed: bool):
    """Leave urllib alone, or refuse every request until the block ends (scikit-learn calls ``urlopen``)."""
    if allowed:
        yield
        return
    previous = urllib.request._opener  # no public getter; restored so that a caller's opener survives
    urllib.request.install_opener(urllib.request.build_opener(_Offline()))
    try:
        yield
    finally:
        urllib.request.install_opener(previous)


def load_openml(source: OpenMLSource, data_home: Path, allow_download: bool, retries: int = 3):
    """``fetch_openml`` of ``source`` with ``data_home`` as its cache: a Bunch whose ``frame`` holds every
    column but OpenML's ignored ones and row ids (target included) and whose ``details`` is OpenML's
    description. Only with ``allow_download`` may files missing from the cache come from openml.org.

    The ``liac-arff`` parser: scikit-learn 1.9.1's ``pandas`` parser fails on nominal columns with
    integer values under pandas >= 3.1 (scikit-learn issue #34892). Any failure (network, md5
    mismatch, parse) is a :class:`DataError` naming the id and the reason.
    """
    from sklearn.datasets import fetch_openml

    # offline, a refusal is final, but fetch_openml insists on at least one retry: make it immediate
    n_retries, delay = (retries, 1.0) if allow_download else (1, 1e-3)
    try:
        with _network(allow_download):
            return fetch_openml(data_id=source.data_id, data_home=str(data_home), as_frame=True, target_column=None,
                                parser="liac-arff", n_retries=n_retries, delay=delay)
    except Exception as error:  # URLError, ValueError (md5, OpenML errors), liac-arff's ArffException, ...
        raise DataError(f"OpenML dataset {source.data_id}: {error.__class__.__name__}: {error}") from error


def _fetch_openml(spec, raw_dir, mirrors, allow_download, retries) -> tuple[dict, dict]:
    """Fill ``raw_dir/openml/`` (scikit-learn's cache) from the first directory mirror holding
    ``<mirror>/<dataset>/openml/``, then from openml.org (download on), and parse it once to check it.

    Returns OpenML's description of the dataset and, per cached file, the SHA-256 of its payload and
    its source. On failure the cache is deleted, so no half-fetched file is taken as good later.
    """
    cache = raw_dir / "openml"
    sources = {path: "already present" for path in cache.rglob("*.gz")}
    copies = [Path(prefix) / spec.name / "openml" for prefix in mirrors if not _is_url(prefix)]
    copy = next((folder for folder in copies if folder.is_dir()), None)
    if copy is not None:
        for path in sorted(copy.rglob("*.gz")):
            target = cache / path.relative_to(copy)
            if target not in sources:
                with atomic.atomic_path(target) as tmp:
                    shutil.copyfile(path, tmp)
                sources[target] = str(path)
    if not sources and not allow_download:
        raise DataError(f"dataset '{spec.name}' (OpenML {spec.openml.data_id}): no mirror holds "
                        f"{spec.name}/openml/ and download is off (set --config download=true)")
    try:
        details = load_openml(spec.openml, raw_dir, allow_download, retries).details
    except DataError as error:
        shutil.rmtree(cache, ignore_errors=True)
        raise DataError(f"dataset '{spec.name}': {error}") from error
    files = {path.relative_to(raw_dir).as_posix(): {"sha256": payload_sha256(path, gzip_payload=True),
                                                    "payload": "gunzipped",
                                                    "source": sources.get(path, OPENML_UPSTREAM)}
             for path in sorted(cache.rglob("*.gz"))}
    keys = ("id", "name", "version", "default_target_attribute", "md5_checksum", "url", "licence")
    return {key: details.get(key) for key in keys}, files


def read_manifest(raw_dir: Path) -> dict:
    return json.loads((raw_dir / "MANIFEST.json").read_text())
