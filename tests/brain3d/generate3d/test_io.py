from __future__ import annotations

import numpy as np
import pytest
import trimesh

from brain3d.errors import InputError
from brain3d.generate3d import LayoutGenerator, load_npz, load_ply, save_npz, save_ply, to_polydata


@pytest.fixture()
def cloud(scenes):
    return LayoutGenerator(n_points=300).generate(scenes[1].description)


def test_ply_round_trip_keeps_points_and_colours(tmp_path, cloud) -> None:
    path = save_ply(cloud, tmp_path / "c" / "cloud.ply")
    back = load_ply(path)
    np.testing.assert_allclose(back.points, cloud.points, atol=1e-6)
    np.testing.assert_array_equal(back.colors, cloud.colors)
    header = path.read_bytes()[:400]
    assert b"property uchar red" in header and b"binary_little_endian" in header
    assert len(trimesh.load(path).vertices) == cloud.n_points


def test_npz_round_trip(tmp_path, cloud) -> None:
    back = load_npz(save_npz(cloud, tmp_path / "cloud.npz"))
    np.testing.assert_array_equal(back.points, cloud.points)
    np.testing.assert_array_equal(back.colors, cloud.colors)
    assert back.source == cloud.source


def test_missing_or_bad_ply_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_ply(tmp_path / "none.ply")
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"not a ply")
    with pytest.raises(InputError):
        load_ply(bad)


def test_polydata_carries_points_and_rgb(cloud) -> None:
    pytest.importorskip("pyvista")
    poly = to_polydata(cloud)
    assert poly.n_points == cloud.n_points
    np.testing.assert_array_equal(poly.point_data["rgb"], cloud.colors)
