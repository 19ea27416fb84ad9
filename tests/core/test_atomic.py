import json

import pytest

from methods.core import atomic


def test_write_json_is_complete_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "metrics.json"
    atomic.write_json(target, {"accuracy": 0.5})
    assert json.loads(target.read_text()) == {"accuracy": 0.5}
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


def test_failure_while_writing_leaves_neither_target_nor_temporary(tmp_path):
    target = tmp_path / "model.pt"
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_complete_file(tmp_path):
    target = tmp_path / "train.json"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("new, half written")
            raise RuntimeError("killed")
    assert target.read_text() == "old"


def test_nan_is_rejected_in_json(tmp_path):
    with pytest.raises(ValueError):
        atomic.write_json(tmp_path / "m.json", {"loss": float("nan")})
    assert not (tmp_path / "m.json").exists()
