import io
import tarfile
import zipfile

import pytest

from methods.core.errors import DataError
from methods.data.archive import extract


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as handle:
        for name, data in members.items():
            handle.writestr(name, data)


def test_safe_zip_is_extracted(tmp_path):
    _zip(tmp_path / "ok.zip", {"run01/a.txt": "a", "b.txt": "b"})
    extract(tmp_path / "ok.zip", tmp_path / "out")
    assert (tmp_path / "out" / "run01" / "a.txt").read_text() == "a"


@pytest.mark.parametrize("member", ["../evil.txt", "run/../../evil.txt", "/tmp/evil.txt"])
def test_zip_with_traversal_is_refused_and_nothing_escapes(tmp_path, member):
    _zip(tmp_path / "bad.zip", {"fine.txt": "ok", member: "evil"})
    with pytest.raises(DataError, match="outside"):
        extract(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "fine.txt").exists()  # checked before anything is written


def test_zip_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as handle:
        handle.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="link"):
        extract(tmp_path / "link.zip", tmp_path / "out")


def _tar(path, add):
    with tarfile.open(path, "w:gz") as handle:
        add(handle)


def test_tar_with_traversal_is_refused(tmp_path):
    def add(handle):
        data = b"evil"
        info = tarfile.TarInfo("../evil.txt")
        info.size = len(data)
        handle.addfile(info, io.BytesIO(data))

    _tar(tmp_path / "bad.tar.gz", add)
    with pytest.raises(DataError):
        extract(tmp_path / "bad.tar.gz", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_tar_with_link_out_of_the_target_is_refused(tmp_path):
    def add(handle):
        info = tarfile.TarInfo("inside/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        handle.addfile(info)

    _tar(tmp_path / "link.tar.gz", add)
    with pytest.raises(DataError):
        extract(tmp_path / "link.tar.gz", tmp_path / "out")
    assert not (tmp_path / "out" / "inside" / "link").exists()


def test_other_files_are_rejected(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="neither"):
        extract(tmp_path / "x.bin", tmp_path / "out")
