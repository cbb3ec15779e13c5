"""The episode file's own zip writer: what numpy, zipfile and unzip read back, byte-stable, and its large-file path."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from embodia.envs.record import npz_writer
from embodia.envs.record.npz_writer import write_npz


def sample_arrays() -> dict[str, np.ndarray]:
    """Every kind of array an episode file holds: a 0-d JSON string, floats, flags, images, an empty column, and a
    Fortran-ordered and a strided array (stored C-ordered)."""
    return {
        "meta": np.array('{"policy": "scripted", "note": "é"}'),
        "mj_state": np.linspace(0.0, 1.0, 51 * 40).reshape(51, 40),
        "terminated": np.array([False, False, True]),
        "obs/camera_work": np.arange(2 * 8 * 8 * 3, dtype=np.uint8).reshape(2, 8, 8, 3),
        "info/empty": np.zeros((0, 3), np.float32),
        "model/fortran": np.asfortranarray(np.arange(12, dtype=np.int32).reshape(3, 4)),
        "task/strided": np.arange(20.0)[::3],
        "info/scalar": np.float32(2.5),
    }


def written(arrays: dict[str, np.ndarray], level: int = 1) -> bytes:
    buffer = io.BytesIO()
    write_npz(buffer, arrays, level)
    return buffer.getvalue()


@pytest.mark.parametrize("level", [0, 1, 6])
def test_numpy_and_zipfile_read_every_array_back(level: int) -> None:
    arrays = sample_arrays()
    data = written(arrays, level)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every member's CRC checks
        assert [info.filename for info in archive.infolist()] == [f"{name}.npy" for name in arrays]
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        for name, array in arrays.items():
            assert loaded[name].dtype == np.asarray(array).dtype, name
            assert loaded[name].shape == np.shape(array), name
            np.testing.assert_array_equal(loaded[name], array)


@pytest.mark.skipif(shutil.which("unzip") is None, reason="no unzip on this machine")
def test_unzip_finds_no_error(tmp_path: Path) -> None:
    path = tmp_path / "episode.npz"
    path.write_bytes(written(sample_arrays()))
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No errors detected" in result.stdout


def test_plain_archives_need_only_deflate() -> None:
    with zipfile.ZipFile(io.BytesIO(written(sample_arrays()))) as archive:
        assert {info.extract_version for info in archive.infolist()} == {20}


def test_the_same_arrays_make_the_same_bytes() -> None:
    """No clock in the file: every member carries 1980-01-01, so a re-recorded episode is the same file."""
    assert written(sample_arrays()) == written(sample_arrays())
    with zipfile.ZipFile(io.BytesIO(written(sample_arrays()))) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_object_arrays_are_refused_naming_the_array() -> None:
    with pytest.raises(ValueError, match="'info/objects' holds Python objects"):
        written({"meta": np.array("{}"), "info/objects": np.array([{"a": 1}], dtype=object)})


def test_archives_beyond_the_plain_zip_go_through_zipfile(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond 32-bit sizes (2 GiB of arrays here) zipfile writes ZIP64; the limit lowered to reach that path."""
    arrays = sample_arrays()
    monkeypatch.setattr(npz_writer, "PLAIN_ZIP_LIMIT", 1000)
    data = written(arrays)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {info.extract_version for info in archive.infolist()} == {45}  # ZIP64 needs version 4.5
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded[name], array)
