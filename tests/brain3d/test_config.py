"""Configuration: loading, overrides, and one clear error per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brain3d.config import Config, load_config, parse_override
from brain3d.errors import ConfigError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def _error(**kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(REPO_CONFIG, **kwargs)
    return str(info.value)


def test_repository_config_loads_and_matches_the_code_defaults():
    loaded = load_config(REPO_CONFIG).model_dump(mode="json")
    defaults = Config().model_dump(mode="json")
    # paths differ only by being resolved against the repository root
    for section, key in (("model", "weights"), ("onnx", "path"), ("output", "dir"), ("describer", "weights"),
                         ("generator3d", "weights")):
        assert Path(loaded[section][key]) == (REPO_CONFIG.parent / defaults[section][key]).resolve()
        loaded[section][key] = defaults[section][key]
    assert loaded == defaults


def test_design_values_are_the_defaults():
    config = load_config(REPO_CONFIG)
    assert len(config.channels.names) == 64
    assert config.window.samples == 256
    assert config.model.latent_dim == 512
    assert config.onnx.providers == ["tensorrt", "cuda", "cpu"]


def test_unknown_key_names_the_path_and_the_allowed_keys():
    message = _error(overrides=["window.hopp=16"])
    assert "window.hopp: unknown key" in message
    assert "hop" in message and "samples" in message


def test_unknown_section_is_an_error():
    assert "sourse: unknown key" in _error(overrides=["sourse.kind=lsl"])


def test_wrong_type_names_the_key_and_value():
    message = _error(overrides=["window.samples=many"])
    assert "window.samples = 'many'" in message
    assert "integer" in message


def test_window_shorter_than_the_conv_stack_is_refused_with_the_minimum():
    message = _error(overrides=["window.samples=100"])
    assert "window.samples = 100" in message
    assert "121" in message


def test_negative_rate_is_refused():
    message = _error(overrides=["window.sfreq=-256"])
    assert "window.sfreq = -256" in message and "greater than 0" in message


def test_unsupported_image_size_lists_the_supported_ones():
    message = _error(overrides=["model.image_size=100"])
    assert "model.image_size = 100" in message
    assert "64, 128 or 256" in message


def test_bad_provider_in_a_list_names_its_index():
    assert "onnx.providers[1] = 'gpu'" in _error(overrides=["onnx.providers=[cpu, gpu]"])


def test_bandpass_above_nyquist_is_refused():
    message = _error(overrides=["preprocessing.bandpass=[1, 200]"])
    assert "Nyquist" in message and "128" in message


def test_duplicate_channel_names_are_refused():
    assert "listed twice" in _error(overrides=["channels.names=[Cz, CZ, Pz]"])


def test_replay_without_a_file_is_refused():
    assert "source.replay.path" in _error(overrides=["source.kind=replay"])


def test_every_problem_is_reported_at_once():
    message = _error(overrides=["window.samples=10", "model.image_size=65", "source.kind=tape"])
    assert "window.samples" in message and "model.image_size" in message and "source.kind" in message


def test_overrides_are_parsed_as_yaml():
    assert parse_override("window.hop=16") == (["window", "hop"], 16)
    assert parse_override("onnx.providers=[cpu]") == (["onnx", "providers"], ["cpu"])
    assert parse_override("source.lsl.name=My Amp") == (["source", "lsl", "name"], "My Amp")
    config = load_config(REPO_CONFIG, overrides=["window.hop=16", "onnx.providers=[cpu]"])
    assert config.window.hop == 16 and config.onnx.providers == ["cpu"]


@pytest.mark.parametrize("text", ["window.hop", "=3", "window..hop=3"])
def test_malformed_override_is_explained(text):
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override(text)


def test_override_into_a_value_is_refused():
    assert "is a value, not a section" in _error(overrides=["window.hop.x=1"])


def test_second_yaml_file_merges_on_top(tmp_path):
    extra = tmp_path / "site.yaml"
    extra.write_text(yaml.safe_dump({"window": {"hop": 64}, "onnx": {"intra_op_threads": 2}}))
    config = load_config(REPO_CONFIG, extra_files=[extra], overrides=["window.hop=8"])
    assert config.window.hop == 8  # --set wins over the second file
    assert config.onnx.intra_op_threads == 2
    assert config.window.samples == 256  # untouched keys keep the main file's values


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    main = tmp_path / "exp" / "config.yaml"
    main.parent.mkdir()
    main.write_text(yaml.safe_dump({"output": {"dir": "runs"}}))
    assert load_config(main).output.dir == (main.parent / "runs").resolve()


def test_missing_file_and_bad_yaml_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("window: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(listing)


def test_empty_file_gives_the_defaults(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_config(empty).window.samples == 256
