"""NAS-Bench-201 ground truth (Dong & Yang, ICLR 2020): test accuracy of all 15,625 cells on three datasets.

Upstream: the three CSVs that Zhenhan-Huang/NASGraph-Public ships in ``data/`` (Apache-2.0; extracted
from NAS-Bench-201-v1_1-096897, whose data is MIT-licensed), one per dataset, with columns
``file id, arch str, cfg name, C, N, train accuracy, validation accuracy, test accuracy``. The
CIFAR-10 file is NB201's ``cifar10-valid`` setting (trained on half the training set; best test
accuracy 91.52, not the 94.37 of full training), so it is named ``cifar10-valid`` here.

Both licences allow redistribution with attribution, so the package ships a compact copy of the
columns the study needs (cell string and the three test accuracies, values unchanged) in
``shipped/nasbench201.csv.gz``: the table runs in the default offline build. :func:`compact`
rebuilds that file byte for byte from the upstream CSVs after checking their SHA-256, and
:func:`prepare` checks the shipped file's SHA-256 before use.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .formats import save_arrays
from .registry import DatasetSpec, RemoteFile

COMMIT = "1f8fd621c60a48728fcc890818b6b94eee62e4dc"
_RAW = f"https://github.com/Zhenhan-Huang/NASGraph-Public/raw/{COMMIT}/data/"
# dataset column of the compact copy -> upstream file
UPSTREAM = {
    "cifar10-valid": RemoteFile("nasbench201_cifar10.csv",
                                "c82e70b5ffb0dba0f09d88ecc8df5a6d3ce8da8a99ad223285104f4537314033",
                                (_RAW + "nasbench201_cifar10.csv",)),
    "cifar100": RemoteFile("nasbench201_cifar100.csv",
                           "87a42005d7005fdb5e4a938ed83dd306d907523f23e70af907dfd276dd5fe35d",
                           (_RAW + "nasbench201_cifar100.csv",)),
    "ImageNet16-120": RemoteFile("nasbench201_ImageNet16-120.csv",
                                 "f5225573584977b283f473b0ded7fe51ae599a67063b3bd02b18de36b29fcd6b",
                                 (_RAW + "nasbench201_ImageNet16-120.csv",)),
}
DATASETS_ORDER = tuple(UPSTREAM)
SHIPPED = Path(__file__).with_name("shipped") / "nasbench201.csv.gz"
SHIPPED_SHA256 = "b4aacaf03b5ea49103c9ac54605e94657b4ab706fc62180a50c55a1827388a1b"
NUM_ARCHS = 15625


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compact(csv_dir: Path, out: Path) -> None:
    """Write the shipped copy from the upstream CSVs in ``csv_dir`` (checked against their SHA-256):
    ``arch,cifar10-valid,cifar100,ImageNet16-120`` (test accuracy, %, as upstream prints it), in
    upstream row order, gzip with a zero timestamp so that the bytes are reproducible."""
    import pandas as pd

    frames = {}
    for dataset, remote in UPSTREAM.items():
        path = Path(csv_dir) / remote.name
        if not path.exists():
            raise DataError(f"nasbench201: {path} not found")
        if (actual := _sha256(path)) != remote.sha256:
            raise DataError(f"nasbench201: {path} has SHA-256 {actual}, expected {remote.sha256}")
        frames[dataset] = pd.read_csv(path, dtype={"test accuracy": str})
    archs = frames["cifar10-valid"]["arch str"]
    if any(not frame["arch str"].equals(archs) for frame in frames.values()):
        raise DataError(f"nasbench201: the CSVs in {csv_dir} list the cells in different orders")
    text = io.StringIO()
    text.write("arch," + ",".join(DATASETS_ORDER) + "\n")
    for i, arch in enumerate(archs):
        text.write(arch + "," + ",".join(frames[d]["test accuracy"].iloc[i] for d in DATASETS_ORDER) + "\n")
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(text.getvalue().encode())


def read_shipped(path: Path = SHIPPED) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cell strings and {dataset: test accuracy} of the shipped copy, after checking its SHA-256."""
    if (actual := _sha256(path)) != SHIPPED_SHA256:
        raise DataError(f"nasbench201: {path} has SHA-256 {actual}, expected {SHIPPED_SHA256}")
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    if header != ["arch", *DATASETS_ORDER] or len(rows) != NUM_ARCHS:
        raise DataError(f"nasbench201: {path} has header {header} and {len(rows)} rows, "
                        f"expected {['arch', *DATASETS_ORDER]} and {NUM_ARCHS}")
    archs = np.array([r[0] for r in rows])
    return archs, {d: np.array([float(r[k + 1]) for r in rows]) for k, d in enumerate(DATASETS_ORDER)}


def prepare(raw_dir: Path, out: Path) -> None:
    archs, accuracy = read_shipped()
    save_arrays(out, arch=archs, **{f"test_{d}": v for d, v in accuracy.items()})


DATASETS = (
    DatasetSpec(
        name="nasbench201",
        title="NAS-Bench-201: test accuracy of 15,625 cells (cifar10-valid, CIFAR-100, ImageNet16-120)",
        licence="MIT (NAS-Bench-201 data); CSV extraction Apache-2.0 (NASGraph-Public)",
        citation="Dong & Yang, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search, "
                 "ICLR 2020; CSVs from Huang et al., NASGraph-Public, commit " + COMMIT,
        homepage="https://github.com/D-X-Y/NAS-Bench-201",
        prepare=prepare,
        notes="Shipped in the package (methods/data/shipped/nasbench201.csv.gz, SHA-256 checked); rebuilt from "
              "the upstream CSVs by methods.data.nasbench201.compact.",
        extra={"upstream": tuple(UPSTREAM.values())},
    ),
)
