"""Channel mapping by name: spellings, policies, interpolation, vectorised apply."""

from __future__ import annotations

import numpy as np
import pytest

from brain3d.channels import STANDARD_64
from brain3d.data.montage_mapping import map_channels, normalize_channel_name
from brain3d.errors import ChannelError

POSTERIOR_17 = "P7 P5 P3 P1 Pz P2 P4 P6 P8 PO7 PO3 POz PO4 PO8 O1 Oz O2".split()


@pytest.mark.parametrize(
    ("label", "key"),
    [("Fc5.", "fc5"), ("Fp1.", "fp1"), ("Iz..", "iz"), ("EEG Fp1-REF", "fp1"), ("EEG FP1", "fp1"),
     ("Oz_", "oz"), (" Cz ", "cz"), ("T3", "t7"), ("T4", "t8"), ("T5", "p7"), ("T6", "p8"), ("Fp1-F7", "fp1-f7")],
)
def test_normalize_vendor_spellings(label, key):
    assert normalize_channel_name(label) == key


def test_physionet_spellings_match_all_64():
    physionet = [name.capitalize() + "." * max(1, 4 - len(name)) for name in STANDARD_64]  # e.g. "Fc5."
    mapping = map_channels(physionet[::-1], missing="error")
    assert not mapping.missing and not mapping.dropped
    data = np.arange(64 * 3, dtype=np.float32).reshape(64, 3)
    out = mapping.apply(data)
    assert np.array_equal(out, data[::-1])  # reversed source order undone exactly


def test_error_policy_names_missing_channels_and_fix():
    with pytest.raises(ChannelError, match=r"Iz.*channels\.missing = zero or interpolate"):
        map_channels([c for c in STANDARD_64 if c != "Iz"], missing="error")


def test_no_match_at_all_is_refused():
    with pytest.raises(ChannelError, match="matches a model channel"):
        map_channels([f"E{i}" for i in range(128)], missing="zero")


def test_63_to_64_interpolated_from_neighbours():
    source = [c for c in STANDARD_64 if c != "Iz"]
    mapping = map_channels(source, missing="interpolate")
    assert mapping.missing == ("Iz",) and len(mapping.matched) == 63
    row = mapping.matrix[STANDARD_64.index("Iz")]
    assert row.sum() == pytest.approx(1.0, abs=1e-6)  # constant field stays constant
    nearest = source[int(np.argmax(row))]
    assert nearest in {"Oz", "O1", "O2", "POz"}
    data = np.random.default_rng(0).standard_normal((5, 63, 10)).astype(np.float32)
    out = mapping.apply(data)
    assert out.shape == (5, 64, 10) and out.dtype == np.float32
    assert np.array_equal(out[:, STANDARD_64.index("Oz")], data[:, source.index("Oz")])
    assert "interpolated" in mapping.report() and "Iz" in mapping.report()


@pytest.mark.parametrize("policy", ["zero", "interpolate"])
def test_17_posterior_to_64(policy):
    mapping = map_channels(POSTERIOR_17, missing=policy)
    assert len(mapping.matched) == 17 and len(mapping.missing) == 47
    out = mapping.apply(np.ones((17, 4)))
    assert out.shape == (64, 4)
    fp1 = out[STANDARD_64.index("Fp1")]
    if policy == "zero":
        assert np.all(fp1 == 0) and "zero-filled" in mapping.report()
    else:
        assert np.allclose(fp1, 1.0, atol=1e-3)


def test_extra_and_duplicate_channels_are_dropped_and_reported():
    mapping = map_channels(["T3", "T7", "EOG", "Oz"], ["T7", "Oz"], missing="error")
    assert mapping.matched == {"T7": 1, "Oz": 3}
    assert set(mapping.dropped) == {"T3", "EOG"}
    assert "dropped" in mapping.report() and "EOG" in mapping.report()


def test_wrong_channel_count_is_refused():
    mapping = map_channels(POSTERIOR_17, missing="zero")
    with pytest.raises(ChannelError, match="17 channels"):
        mapping.apply(np.zeros((16, 4)))
