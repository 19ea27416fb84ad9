"""Safe archive extraction: nothing lands outside the target folder, no links out of it."""

from __future__ import annotations

import stat
import tarfile
import zipfile
from pathlib import Path

from methods.core.errors import DataError


def _inside(target: Path, member: str) -> Path:
    destination = (target / member).resolve()
    if member.startswith(("/", "\\")) or not destination.is_relative_to(target.resolve()):
        raise DataError(f"archive member '{member}' would be written outside {target}; refusing to extract")
    return destination


def extract(archive: Path, target: Path) -> list[Path]:
    """Extract a zip or tar archive into ``target``; rejects path traversal and links.

    Tar archives go through Python's ``data`` extraction filter (PEP 706), which refuses absolute
    paths, ``..`` members and links pointing outside the target; zip members are checked here.
    """
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            for info in handle.infolist():
                _inside(target, info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise DataError(f"archive member '{info.filename}' in {archive} is a link; refusing to extract")
            handle.extractall(target)
            return [target / name for name in handle.namelist()]
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as handle:
            members = handle.getmembers()
            for member in members:
                _inside(target, member.name)
            try:
                handle.extractall(target, filter="data")
            except tarfile.FilterError as error:
                raise DataError(f"unsafe member in {archive}: {error}") from error
            return [target / member.name for member in members]
    raise DataError(f"{archive} is neither a zip nor a tar archive")
