"""One registry per backend family: sources, describers, 3D generators, fast-path precisions.

Each :class:`Registry` maps a backend name (what ``source.kind``, ``describer.backend``,
``generator3d.backend`` or ``onnx.precision`` say) to a factory given as
``"module:attribute"`` and imported only when the backend is built, so that listing the
choices (config validation, ``brain3d --help``, the docs) imports no backend and no
higher floor. The built-in backends are registered at the bottom of this module.

A backend outside this repository registers through a Python entry point; no file here
changes. In the plug-in's ``pyproject.toml``::

    [project.entry-points."brain3d.sources"]
    mybox = "mybox_brain3d:build_source"         # factory(config: Config) -> acquisition.base.Source

    [project.entry-points."brain3d.describers"]
    mydescriber = "mypkg:build"                  # factory(config: Config) -> brain3d.describe.Describer

    [project.entry-points."brain3d.generators"]
    mygen = "mypkg:build_generator"              # factory(config: Config) -> brain3d.generate3d.Generator3D

After ``pip install`` the name is a valid choice (``--source mybox``,
``--set describer.backend=mydescriber``); its settings go in the section's ``options``
mapping (``source.options``, ``describer.options``, ``generator3d.options``).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from brain3d.errors import BackendError, ConfigError

logger = logging.getLogger(__name__)

BUILT_IN = "built in"


def import_attribute(spec: str) -> Any:
    """What ``"module:attribute"`` names (the attribute may be dotted), importing the module now.

    The one resolver of factory specs (backends here, the engine's stage factories).

    Returns
    -------
    object or None
        None when the module has no such attribute.

    Raises
    ------
    ValueError
        ``spec`` is not ``"module:attribute"``.
    Exception
        Whatever importing the module raises (the caller reports it).
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"factory spec {spec!r}: expected 'package.module:function'")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part, None)
    return target


@dataclass(frozen=True)
class Backend:
    """One registered backend.

    Attributes
    ----------
    name : str
        The value that selects it in the configuration.
    factory : str
        ``"module:attribute"`` (the attribute may be dotted, e.g. ``Class.from_config``).
    summary : str
        One line for ``--help`` and the docs.
    origin : str
        ``"built in"`` or the distribution (package) that registered it.
    """

    name: str
    factory: str
    summary: str
    origin: str = BUILT_IN

    def load(self) -> Callable[..., Any]:
        """Import the factory.

        Raises
        ------
        BackendError
            The module cannot be imported (its error is kept) or has no such callable.
        """
        module_name = self.factory.partition(":")[0]
        try:
            target = import_attribute(self.factory)
        except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
            raise BackendError(
                f"backend {self.name!r} ({self.origin}) cannot load: importing {module_name} failed "
                f"({type(exc).__name__}: {exc}). Repair its installation or choose another backend"
            ) from exc
        if not callable(target):
            raise BackendError(f"backend {self.name!r} ({self.origin}): {self.factory!r} is not a callable")
        return target


class Registry:
    """The backends of one family: built-ins plus those of installed plug-ins.

    Parameters
    ----------
    family : str
        What a backend is, for messages ("source", "describer", ...).
    config_key : str
        The setting that picks one (``"source.kind"``), for messages.
    entry_point_group : str, optional
        Python entry-point group read for plug-ins (None: built-ins only).
    """

    def __init__(self, family: str, config_key: str, entry_point_group: str | None = None) -> None:
        self.family = family
        self.config_key = config_key
        self.entry_point_group = entry_point_group
        self._backends: dict[str, Backend] = {}
        self._discovered = entry_point_group is None
        self._lock = threading.Lock()

    def register(self, name: str, factory: str, summary: str, *, origin: str = BUILT_IN) -> Backend:
        """Add a backend (one line per built-in; plug-ins use entry points instead).

        Raises
        ------
        ValueError
            ``name`` is taken, or ``factory`` is not ``"module:attribute"``.
        """
        if name in self._backends:
            raise ValueError(f"{self.family} backend {name!r} is already registered ({self._backends[name].origin})")
        if ":" not in factory:
            raise ValueError(f"factory {factory!r} must be 'module:attribute'")
        backend = Backend(name, factory, summary, origin)
        self._backends[name] = backend
        return backend

    def refresh(self) -> None:
        """Read the entry points again (after installing a plug-in in this process)."""
        with self._lock:
            for name in [n for n, b in self._backends.items() if b.origin != BUILT_IN]:
                del self._backends[name]
            self._discovered = self.entry_point_group is None
        self._discover()

    def _discover(self) -> None:
        with self._lock:
            if self._discovered:
                return
            self._discovered = True
            for point in entry_points(group=str(self.entry_point_group)):
                dist = getattr(point, "dist", None)
                origin = f"plug-in {dist.name if dist is not None else point.value.partition(':')[0]}"
                if point.name in self._backends:
                    logger.warning("%s: entry point %r of %s ignored: the name is taken by %s", self.entry_point_group,
                                   point.name, origin, self._backends[point.name].origin)
                    continue
                self._backends[point.name] = Backend(point.name, point.value, f"{self.family} from {origin}", origin)

    def names(self) -> tuple[str, ...]:
        """Every registered name (built-ins first, in registration order)."""
        self._discover()
        return tuple(self._backends)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[Backend]:
        self._discover()
        return iter(list(self._backends.values()))

    def get(self, name: str) -> Backend:
        """The backend called ``name``.

        Raises
        ------
        ConfigError
            No such backend; the message lists the choices and how plug-ins register.
        """
        self._discover()
        backend = self._backends.get(name)
        if backend is None:
            raise ConfigError(self.unknown_message(name))
        return backend

    def unknown_message(self, name: object, also: tuple[str, ...] = ()) -> str:
        """The error text for an unknown name: the choices (and ``also``) and how to add one."""
        hint = (f", or install a plug-in that registers it in the entry-point group {self.entry_point_group!r}"
                if self.entry_point_group else "")
        return f"{self.config_key} {name!r} is unknown; choose one of {', '.join((*also, *self.names()))}{hint}"

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build backend ``name``: its factory called with ``args`` (usually the Config)."""
        return self.get(name).load()(*args, **kwargs)

    def help(self) -> str:
        """``name (summary); ...`` for ``--help``."""
        return "; ".join(f"{b.name} ({b.summary})" for b in self)


#: ``source.kind``: factory(config) -> acquisition.base.Source (not opened).
SOURCES = Registry("source", "source.kind", "brain3d.sources")
#: ``describer.backend``: factory(config) -> brain3d.describe.Describer.
DESCRIBERS = Registry("describer", "describer.backend", "brain3d.describers")
#: ``generator3d.backend``: factory(config) -> brain3d.generate3d.Generator3D.
GENERATORS = Registry("3D generator", "generator3d.backend", "brain3d.generators")
#: ``onnx.precision`` (besides ``auto``): converter(fp32_path, fp32_model, calibration) ->
#: onnx.ModelProto (fp32's returns the model unchanged). No plug-ins: a precision changes the export.
PRECISIONS = Registry("fast-path precision", "onnx.precision")

SOURCES.register("simulate", "acquisition.sim_source:build",
                 "the SIMULATED visual-EEG in process, no headset")
SOURCES.register("lsl", "acquisition.lsl_inlet:build",
                 "a numeric Lab Streaming Layer stream, selected by source.lsl")
SOURCES.register("brainflow", "acquisition.brainflow_source:build",
                 "a BrainFlow board, set in source.brainflow")
SOURCES.register("replay", "acquisition.replay:build",
                 "a recorded XDF, FIF, EDF, BDF, BrainVision or EEGLAB file replayed over LSL and read back")

DESCRIBERS.register("grounded", "brain3d.describe.grounded:build",
                    "a trained attribute head on CPU, not a language model")
DESCRIBERS.register("transformers", "brain3d.describe.transformers_backend:build",
                    "a local language / vision-language model with schema-constrained decoding")
DESCRIBERS.register("openai", "brain3d.describe.openai_backend:build",
                    "an OpenAI-compatible server, set in describer.openai")

GENERATORS.register("diffusion", "brain3d.generate3d.diffusion_generator:build",
                    "point diffusion trained on SIMULATED scenes, few-step DPM-Solver++")
GENERATORS.register("layout", "brain3d.generate3d.layout:build",
                    "deterministic baseline sampling the described primitives")
GENERATORS.register("shap_e", "brain3d.generate3d.shap_e:build",
                    "diffusers' Shap-E from local weights")

PRECISIONS.register("fp32", "export_onnx.precision:keep_fp32", "the exported graph as is")
PRECISIONS.register("fp16", "export_onnx.precision:to_fp16", "half-precision weights and activations (GPU)")
PRECISIONS.register("int8", "export_onnx.precision:to_int8_dynamic", "dynamic int8 of the Linear layers")
PRECISIONS.register("int8_static", "export_onnx.precision:to_int8_static",
                    "static int8 of every layer, calibrated on SIMULATED windows (CPU default)")

__all__ = ["BUILT_IN", "DESCRIBERS", "GENERATORS", "PRECISIONS", "SOURCES", "Backend", "Registry", "import_attribute"]
