"""A third-party package adds a source, a describer and a 3D generator through entry points.

The plug-in is a module and a ``*.dist-info/entry_points.txt`` on ``sys.path`` (what
``pip install`` would leave; nothing is installed and nothing leaves the machine). No file
of this repository names it; the config validation, ``brain3d backends`` and the engine
find it through :mod:`brain3d.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brain3d.errors import ConfigError
from brain3d.registry import DESCRIBERS, GENERATORS, SOURCES
from brain3d.results import Cloud, Decoded, Described
from realtime.engine import Engine
from realtime.sinks import EngineStatus
from tests.realtime.conftest import make_config

PLUGIN_MODULE = '''"""brain3d-sineplug: a paced sine source, a grey-level describer and a dots generator."""

import time

import numpy as np

from acquisition.base import Chunk, Source, StreamDescription
from brain3d.channels import STANDARD_64
from brain3d.clock import lsl_clock
from brain3d.describe.base import Describer
from brain3d.generate3d.base import Generator3D
from brain3d.pointcloud import PointCloud
from brain3d.sim.scenes import generate_scene


class SineSource(Source):
    def __init__(self, options):
        self.sfreq = float(options.get("sfreq", 256.0))
        self.amplitude = float(options.get("amplitude_uv", 20.0))
        self.sent = 0
        self.t0 = 0.0

    @property
    def description(self):
        return StreamDescription("plug-in sine", "EEG", "sine-1", tuple(STANDARD_64), self.sfreq, "uV")

    def open(self):
        self.t0 = lsl_clock()

    def read(self, timeout=0.0, min_samples=1):
        due = int((lsl_clock() - self.t0) * self.sfreq)
        if due <= self.sent:
            time.sleep(min(timeout, 0.002))
            return None
        t = np.arange(self.sent, due) / self.sfreq
        self.sent = due
        noise = np.random.default_rng(self.sent).normal(0, 5, (len(t), 64))
        data = self.amplitude * np.sin(2 * np.pi * 10 * t)[:, None] + noise
        return Chunk(data.astype(np.float32), self.t0 + t)

    def drain_events(self):
        return []

    def close(self):
        pass


class GreyDescriber(Describer):
    name = "grey-level describer (plug-in)"

    def _describe(self, image, latent):
        scene = generate_scene(int(image.mean()) % 7)
        return scene.description.model_copy(update={"source": self.name}), []


class DotsGenerator(Generator3D):
    name = "dots (plug-in)"

    def generate_batch(self, descriptions, images, *, seeds=None):
        return [PointCloud(np.zeros((8, 3), np.float32), np.zeros((8, 3), np.uint8), self.name)
                for _ in descriptions]


def build_source(config):
    return SineSource(config.source.options)


def build_describer(config):
    return GreyDescriber()


def build_generator(config):
    return DotsGenerator()
'''

ENTRY_POINTS = """[brain3d.sources]
sine = brain3d_sineplug:build_source

[brain3d.describers]
grey = brain3d_sineplug:build_describer

[brain3d.generators]
dots = brain3d_sineplug:build_generator
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plug-in's files on ``sys.path``; the registries read the entry points again."""
    site = tmp_path / "site"
    (site / "brain3d_sineplug-0.1.dist-info").mkdir(parents=True)
    (site / "brain3d_sineplug.py").write_text(PLUGIN_MODULE)
    (site / "brain3d_sineplug-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: brain3d-sineplug\nVersion: 0.1\n")
    (site / "brain3d_sineplug-0.1.dist-info" / "entry_points.txt").write_text(ENTRY_POINTS)
    with monkeypatch.context() as patch:
        patch.syspath_prepend(str(site))
        for registry in (SOURCES, DESCRIBERS, GENERATORS):
            registry.refresh()
        yield site
    for registry in (SOURCES, DESCRIBERS, GENERATORS):
        registry.refresh()  # the plug-in is gone again for the other tests


class RecordingSink:
    def __init__(self) -> None:
        self.decoded: list[Decoded] = []
        self.described: list[Described] = []
        self.clouds: list[Cloud] = []

    def on_decoded(self, item: Decoded) -> None:
        self.decoded.append(item)

    def on_described(self, item: Described) -> None:
        self.described.append(item)

    def on_cloud(self, item: Cloud) -> None:
        self.clouds.append(item)

    def on_status(self, status: EngineStatus) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_plugin_source_describer_and_generator_run_live(plugin: Path, tmp_path: Path, fast_path: Any) -> None:
    config = make_config(tmp_path, "source.kind=sine", "source.options={sfreq: 300.0}", "describer.backend=grey",
                         "generator3d.backend=dots")
    sink = RecordingSink()
    summary = Engine(config, sinks=[sink], fast_path=fast_path, stage_mode="thread", lsl_outputs=False).run(3.0)
    assert summary.error is None and summary.source == "sine: plug-in sine" and not summary.simulated
    assert summary.windows >= 8 and len(sink.decoded) == summary.windows
    assert summary.samples_received >= 2 * 300  # the option reached the plug-in: 300 Hz, resampled to 256
    assert summary.backends == {"description": "grey-level describer (plug-in)", "cloud": "dots (plug-in)"}
    assert sink.described and all(d.description.source == "grey-level describer (plug-in)" for d in sink.described)
    assert sink.clouds and all(c.cloud.n_points == 8 and np.all(c.cloud.points == 0) for c in sink.clouds)


def test_brain3d_backends_and_help_list_the_plugin_with_its_distribution(plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from brain3d_app.cli import build_parser, main

    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    assert "sine" in out and "plug-in brain3d-sineplug: brain3d_sineplug:build_source" in out
    assert "grey" in out and "dots" in out and "diffusion" in out
    assert "simulate, lsl, brainflow, replay, sine" in build_parser().format_help()  # brain3d --help


def test_without_the_plugin_its_names_are_rejected_with_the_entry_point_group(tmp_path: Path) -> None:
    SOURCES.refresh()
    with pytest.raises(ConfigError, match="source.kind 'sine' is unknown; choose one of simulate, lsl, "
                                          "brainflow, replay, or install a plug-in .*'brain3d.sources'"):
        make_config(tmp_path, "source.kind=sine")
