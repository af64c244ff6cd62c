"""The one configuration of Brain3D Live, as validated, typed objects.

``config.yaml`` at the repository root is the single configuration. It is loaded into
:class:`Config` (pydantic models that forbid unknown keys); a second YAML file and
``--set key.path=value`` overrides are merged on top before validation, so every
source of a value is validated the same way. Any problem raises one
:class:`~brain3d.errors.ConfigError` that lists each bad key path, the value given and
what is allowed.

Relative paths in the configuration are resolved against the folder of the main
configuration file (for the repository's ``config.yaml``: the repository root).

Sections (names fixed by ``DESIGN.md``): ``source``, ``channels``, ``window``,
``preprocessing``, ``model``, ``onnx``, ``describer``, ``generator3d``, ``viewer``,
``output``, ``logging``; ``realtime`` (the latency-tail knobs, issue 19) is ours. Sections for stages that are not built yet are validated now
so that a config written today keeps working; their docstrings say so.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from brain3d.channels import STANDARD_64
from brain3d.errors import ConfigError
from brain3d.geometry import conv_output_length, min_input_samples
from brain3d.registry import DESCRIBERS, GENERATORS, PRECISIONS, SOURCES, Registry

logger = logging.getLogger(__name__)

#: The repository root (where ``config.yaml`` lives in a checkout).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Environment variable naming a configuration file to use instead of the default.
CONFIG_ENV_VAR = "BRAIN3D_CONFIG"


def _registered(registry: Registry, *extra: str) -> AfterValidator:
    """A validator accepting the names ``registry`` holds (built-ins and plug-ins) and ``extra``."""

    def check(value: str) -> str:
        if value not in extra and value not in registry:
            raise ValueError(registry.unknown_message(value, extra))
        return value

    return AfterValidator(check)


#: Settings of a plug-in backend, read by its own factory (built-ins have typed sub-sections).
PluginOptions = dict[str, Any]


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """Make a relative path absolute against the config file's folder."""
    if value is None or value.is_absolute():
        return value
    base = (info.context or {}).get("base_dir")
    return (Path(base) / value).resolve() if base is not None else value


#: A filesystem path; relative values are taken from the config file's folder.
ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]


class _Section(BaseModel):
    """Base of every section: unknown keys and silent type coercion are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


# --------------------------------------------------------------------------- source
class LSLSourceConfig(_Section):
    """Which LSL stream to open and how (used by the acquisition work, issue 5).

    Attributes
    ----------
    name, type, source_id : str or None
        Stream selectors; every one given must match. ``type`` defaults to ``EEG`` and
        matches whatever the case (mne-lsl's ``PlayerLSL`` says ``eeg``); ``name`` and
        ``source_id`` match exactly. Example: ``--set source.lsl.name=MyHeadset`` picks
        the EEG stream of that name; ``source.lsl.type=null`` accepts any type.
    resolve_timeout_s : float
        Seconds to look for the stream before failing with the list of visible streams.
    clock_sync, dejitter : bool
        liblsl post-processing flags. Dejitter needs tens of seconds to settle.
    max_chunklen : int
        Largest chunk (samples) the inlet accepts at once; bounds lag from huge chunks.
    stall_timeout_s : float
        No samples for this long counts as stream loss.
    """

    name: str | None = None
    type: str | None = "EEG"
    source_id: str | None = None
    resolve_timeout_s: float = Field(5.0, gt=0)
    clock_sync: bool = True
    dejitter: bool = False
    max_chunklen: int = Field(32, ge=1)
    stall_timeout_s: float = Field(1.0, gt=0)


class BrainFlowSourceConfig(_Section):
    """A BrainFlow board (issue 5). ``board_id = -1`` is BrainFlow's synthetic board."""

    board_id: int = -1
    serial_port: str = ""
    ip_address: str = ""
    ip_port: int = Field(0, ge=0, le=65535)


class ReplaySourceConfig(_Section):
    """Replay of a recording as LSL outlets (issue 5)."""

    path: ConfigPath | None = None
    speed: float = Field(1.0, gt=0)
    loop: bool = False
    start_offset_s: float = Field(0.0, ge=0)


class SimulateSourceConfig(_Section):
    """The closed-loop visual-EEG simulator stream (issue 4). Simulated, not recorded, EEG."""

    sfreq: float = Field(500.0, gt=0, description="raw stream rate, Hz")
    snr_db: float = -5.0
    subject: int = Field(0, ge=0)
    seed: int = 0
    line_freq: Literal[50, 60] = 50
    speed: float = Field(
        1.0, gt=0, le=100,
        description="stream time per wall-clock time (1 = real time; > 1 for tests and demos): sample i "
                    "is released and stamped at t0 + i / (sfreq * speed) on the LSL clock",
    )


class SourceConfig(_Section):
    """Where EEG comes from. ``kind`` names a registered source (:data:`brain3d.registry.SOURCES`:
    the built-ins' settings are the sub-sections; a plug-in reads ``options``)."""

    kind: Annotated[str, _registered(SOURCES)] = "simulate"
    options: PluginOptions = Field(default_factory=dict)
    lsl: LSLSourceConfig = Field(default_factory=LSLSourceConfig)
    brainflow: BrainFlowSourceConfig = Field(default_factory=BrainFlowSourceConfig)
    replay: ReplaySourceConfig = Field(default_factory=ReplaySourceConfig)
    simulate: SimulateSourceConfig = Field(default_factory=SimulateSourceConfig)

    @model_validator(mode="after")
    def _replay_needs_path(self) -> SourceConfig:
        if self.kind == "replay" and self.replay.path is None:
            raise ValueError("source.kind is 'replay' but source.replay.path is not set")
        return self


# ------------------------------------------------------------------------- channels
class ChannelsConfig(_Section):
    """The model's channels, in model input order.

    Attributes
    ----------
    names : list of str
        Channel labels, unique (case-insensitive). Default: 64 channels, 10-10 names.
    montage : str
        MNE standard montage giving positions (for interpolation and plots).
    missing : {"error", "zero", "interpolate"}
        What to do when a source lacks some of ``names``.
    """

    names: list[str] = Field(default_factory=lambda: list(STANDARD_64), min_length=1)
    montage: str = "standard_1005"
    missing: Literal["error", "zero", "interpolate"] = "error"

    @field_validator("names")
    @classmethod
    def _unique_names(cls, names: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for name in names:
            if not name.strip():
                raise ValueError("channel names must not be empty")
            key = name.strip().lower()
            if key in seen:
                raise ValueError(f"channel {name!r} is listed twice (also as {seen[key]!r})")
            seen[key] = name
        return names


# --------------------------------------------------------------------------- window
class WindowConfig(_Section):
    """Windows fed to the model.

    Attributes
    ----------
    sfreq : float
        Model sampling rate in Hz; sources are resampled to it.
    samples : int
        Window length in samples at ``sfreq`` (256 in the design).
    hop : int
        Samples between the starts of consecutive windows.
    """

    sfreq: float = Field(256.0, gt=0)
    samples: int = Field(256, ge=1)
    hop: int = Field(32, ge=1)

    @field_validator("samples")
    @classmethod
    def _long_enough_for_conv_stack(cls, samples: int) -> int:
        if conv_output_length(samples) < 1:
            raise ValueError(
                f"a window of {samples} samples is shorter than the encoder's conv stack "
                f"needs; use at least {min_input_samples()} samples (256 in the design)"
            )
        return samples

    @property
    def seconds(self) -> float:
        """Window length in seconds."""
        return self.samples / self.sfreq


# -------------------------------------------------------------------- preprocessing
class PreprocessingConfig(_Section):
    """Streaming, causal preprocessing (issue 5). Frequencies in Hz, amplitudes in µV.

    ``normalization`` is also stored in the exported model's metadata, because the
    model was trained on data normalised this way (:mod:`brain3d.normalization`).
    """

    bandpass: tuple[float, float] | None = (0.5, 100.0)
    notch: list[float] = Field(default_factory=lambda: [50.0])
    reference: Literal["average", "none"] = "average"
    input_units: Literal["V", "mV", "uV"] = "uV"
    normalization: Literal["window_zscore", "none"] = "window_zscore"
    flat_threshold_uv: float = Field(0.1, ge=0)
    saturation_uv: float = Field(5000.0, gt=0)
    bad_window_policy: Literal["skip", "feed"] = "skip"

    @field_validator("bandpass")
    @classmethod
    def _ordered_band(cls, band: tuple[float, float] | None) -> tuple[float, float] | None:
        if band is not None and not 0 <= band[0] < band[1]:
            raise ValueError(f"bandpass must be [low, high] with 0 <= low < high Hz, got {band}")
        return band

    @field_validator("notch")
    @classmethod
    def _positive_notch(cls, freqs: list[float]) -> list[float]:
        if any(f <= 0 for f in freqs):
            raise ValueError(f"notch frequencies must be positive Hz, got {freqs}")
        return freqs


# ---------------------------------------------------------------------------- model
class ModelConfig(_Section):
    """The Brain3D networks and their weights.

    Attributes
    ----------
    weights : path
        safetensors checkpoint of encoder + decoder (carries its architecture config).
    latent_dim : int
        Size of the EEG latent (512 in the design).
    image_size : {64, 128, 256}
        Decoded image side in pixels.
    se_reduction : int
        Squeeze-excitation reduction ratio of the spatial attention.
    seed : int
        Seed for initialising weights when no trained checkpoint exists.
    """

    weights: ConfigPath = Path("weights/brain3d-embedded.safetensors")
    latent_dim: int = Field(512, ge=1)
    image_size: Literal[64, 128, 256] = 64
    se_reduction: int = Field(8, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    seed: int = 0


# ----------------------------------------------------------------------------- onnx
Provider = Literal["tensorrt", "cuda", "cpu"]


def _default_providers() -> list[Provider]:
    """Default execution providers, fastest first."""
    return ["tensorrt", "cuda", "cpu"]


class OnnxConfig(_Section):
    """The exported fast path and how onnxruntime runs it.

    Attributes
    ----------
    path : path
        Where the exported fp32 graph lives (re-exported when stale).
    providers : list of {"tensorrt", "cuda", "cpu"}
        Execution providers in order of preference; unavailable ones are skipped.
    precision : {"auto", "fp32", "fp16", "int8", "int8_static"}
        ``auto`` (default): int8_static when the session will run on the CPU provider
        (int8 where the simulator cannot calibrate the montage), fp32 on a GPU
        provider. fp16 is for GPU providers; int8 quantises the Linear layers
        dynamically; int8_static quantises every convolution and Linear layer with
        activation scales calibrated on SIMULATED windows (identification unchanged on
        the held-out simulated subjects for both; see docs/realtime.md).
    intra_op_threads, inter_op_threads : int
        onnxruntime thread pools (0 lets onnxruntime choose).
    warmup_runs : int
        Inferences run at session start so the first real window is not slow.
    """

    path: ConfigPath = Path("build/brain3d-fastpath.onnx")
    providers: list[Provider] = Field(default_factory=_default_providers, min_length=1)
    precision: Annotated[str, _registered(PRECISIONS, "auto")] = "auto"
    intra_op_threads: int = Field(1, ge=0)
    inter_op_threads: int = Field(1, ge=0)
    warmup_runs: int = Field(20, ge=0)
    opset: int = Field(18, ge=17, le=23)


# ------------------------------------------------------------------------ describer
class TransformersDescriberConfig(_Section):
    """Local language-model describer (issue 6), loaded with ``from_pretrained``."""

    model_path: ConfigPath | None = None
    max_new_tokens: int = Field(256, ge=1)
    timeout_s: float = Field(10.0, gt=0)
    #: "auto" (cpu, or cuda when available), "cpu" or "cuda".
    device: Literal["auto", "cpu", "cuda"] = "auto"


class OpenAIDescriberConfig(_Section):
    """OpenAI-compatible server describer (issue 6)."""

    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(2, ge=0)
    #: first retry waits this long (seconds), doubling on each further retry
    backoff_s: float = Field(0.2, ge=0)
    max_tokens: int = Field(512, ge=16)
    #: circuit breaker: open after this many consecutive failed requests ...
    breaker_failures: int = Field(3, ge=1)
    #: ... and let one trial request through (half-open) after this cool-down (seconds)
    breaker_cooldown_s: float = Field(30.0, gt=0)


class DescriberConfig(_Section):
    """Stage 2: structured 3D-aware description (issue 6)."""

    #: a registered describer (:data:`brain3d.registry.DESCRIBERS`; a plug-in reads ``options``)
    backend: Annotated[str, _registered(DESCRIBERS)] = "grounded"
    options: PluginOptions = Field(default_factory=dict)
    #: grounded backend: safetensors weights of the trained attribute head
    weights: ConfigPath = Path("weights/describer-grounded.safetensors")
    #: torch intra-op threads of the grounded backend (1 keeps it off the fast path's cores)
    threads: int = Field(1, ge=1)
    #: recompute relations from positions when a backend's relations disagree with them
    repair_relations: bool = True
    transformers: TransformersDescriberConfig = Field(default_factory=TransformersDescriberConfig)
    openai: OpenAIDescriberConfig = Field(default_factory=OpenAIDescriberConfig)

    @model_validator(mode="after")
    def _backend_is_configured(self) -> DescriberConfig:
        if self.backend == "openai" and not (self.openai.base_url and self.openai.model):
            raise ValueError(
                "describer.backend is 'openai' but describer.openai.base_url and "
                "describer.openai.model are not both set"
            )
        if self.backend == "transformers" and self.transformers.model_path is None:
            raise ValueError(
                "describer.backend is 'transformers' but describer.transformers.model_path is not set"
            )
        return self


# ---------------------------------------------------------------------- generator3d
class ShapEConfig(_Section):
    """diffusers Shap-E pipelines from a local folder (``from_pretrained``; no hub access).

    ``mode: text`` conditions on a sentence made from the description, ``image`` on the
    decoded image; the mesh (marching cubes on a ``grid_size``-cubed grid) is sampled to
    ``generator3d.n_points`` points.
    """

    model_path: ConfigPath | None = None
    mode: Literal["text", "image"] = "text"
    steps: int = Field(64, ge=1)
    guidance_scale: float = Field(15.0, ge=0)
    grid_size: int = Field(128, ge=8, le=256)


class Generator3DConfig(_Section):
    """Stage 3: point cloud from description + image (issue 7).

    Attributes
    ----------
    backend : str
        A registered 3D generator (:data:`brain3d.registry.GENERATORS`): built in,
        ``diffusion`` (trained, shipped weights), the ``layout`` baseline, or ``shap_e``.
    options : dict
        Settings of a plug-in generator (read by its factory).
    n_points : int
        Points per cloud.
    steps : int
        Diffusion solver steps (quality vs speed: ``brain3d_app/bench/standalone/generate3d.py``).
    guidance_scale : float
        Classifier-free guidance weight; 1 disables guidance (half the cost).
    sampler : {"dpm_solver", "ddim"}
        DPM-Solver++ (2M) or DDIM (eta 0), both deterministic.
    threads : int
        torch intra-op threads of the diffusion backend (a process-wide setting).
    seed : int
        Default sampling seed.
    weights : path
        safetensors weights of the point diffusion model.
    fallback : {"layout", "error"}
        What the diffusion backend does on NaN output or missing weights: the layout
        baseline (logged) or an error.
    yield_to_fast_path : bool
        In a live run, the diffusion sampler does not start a step that would still run
        when the next window is due, until the fast path has decoded it (costs the 3D
        stage about one step per window; see ``realtime.pacing``).
    """

    backend: Annotated[str, _registered(GENERATORS)] = "diffusion"
    options: PluginOptions = Field(default_factory=dict)
    n_points: int = Field(1024, ge=16)
    steps: int = Field(15, ge=1, le=1000)
    guidance_scale: float = Field(1.0, ge=0)
    sampler: Literal["dpm_solver", "ddim"] = "dpm_solver"
    threads: int = Field(1, ge=1)
    seed: int = 0
    weights: ConfigPath = Path("weights/generator3d-diffusion.safetensors")
    fallback: Literal["layout", "error"] = "layout"
    yield_to_fast_path: bool = True
    shap_e: ShapEConfig = Field(default_factory=ShapEConfig)


# --------------------------------------------------------------------------- viewer
class ViewerConfig(_Section):
    """The PyVista window and offscreen renderer (``viewer/``).

    ``headless: auto`` renders offscreen when there is no display. ``max_fps`` caps the
    window's redraws; ``offscreen_fps`` caps the frames written to ``frames/`` (PNG),
    from which ``movie`` (gif, or mp4 when imageio-ffmpeg is installed) is made.
    ``morph_s`` is the time a cloud takes to morph into the next (0: jump).
    """

    enabled: bool = True
    headless: bool | Literal["auto"] = "auto"
    point_size: float = Field(6.0, gt=0)
    spheres: bool = True
    max_fps: float = Field(30.0, gt=0)
    window_size: tuple[Annotated[int, Field(ge=320)], Annotated[int, Field(ge=240)]] = (1200, 700)
    morph_s: float = Field(0.3, ge=0)
    offscreen_fps: float = Field(5.0, gt=0)
    movie: Literal["gif", "mp4", "none"] = "gif"


# ------------------------------------------------------------------------- realtime
class RealtimeConfig(_Section):
    """How the live fast path guards its latency tail (``realtime/``, ``acquisition/``).

    Each knob was measured on and off in paired runs (``python -m
    brain3d_app.bench.standalone.tail``; figures in ``docs/realtime.md``) and is on by
    default only where it lowered the push -> image p99 by at least 10 %, both quiet and
    with a CPU hog on the other core.

    ``busy_poll_ms``: when only a window's last input sample is missing, read the source
    without blocking from this many milliseconds before that sample is expected until
    as long after (then block again); 0 = off. Costs at most twice this per window
    (spin time is counted in the run summary).
    ``warm_before_due``: once per window, when the samples that lead up to it have
    arrived, run the model on the previous window (result discarded) so weights and
    buffers are in cache when the window is cut; skipped when too little time is left.
    ``pin_cores``: Linux with >= 2 allowed CPUs: the acquisition thread (which runs the
    fast path) gets the first allowed CPU, the slow stages' processes the others.
    ``gc_off_hot_path``: freeze the objects alive at start, turn automatic garbage
    collection off and collect right after each window is published instead.
    ``reuse_buffers``: re-reference and normalise each window into buffers kept between
    windows (:class:`brain3d.normalization.WindowPreparer`) instead of new arrays.
    """

    busy_poll_ms: float = Field(0.0, ge=0.0, le=10.0)
    warm_before_due: bool = False
    pin_cores: bool = False
    gc_off_hot_path: bool = False
    reuse_buffers: bool = False


# --------------------------------------------------------------------------- output
class OutputConfig(_Section):
    """Where session folders go (``<dir>/<UTC time>-<source>/``)."""

    dir: ConfigPath = Path("sessions")


class LoggingConfig(_Section):
    """Python logging for the whole product."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: ConfigPath | None = None


# ----------------------------------------------------------------------------- root
class Config(_Section):
    """The whole configuration. Build it with :func:`load_config`."""

    source: SourceConfig = Field(default_factory=SourceConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    preprocessing: PreprocessingConfig = Field(default_factory=PreprocessingConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    onnx: OnnxConfig = Field(default_factory=OnnxConfig)
    describer: DescriberConfig = Field(default_factory=DescriberConfig)
    generator3d: Generator3DConfig = Field(default_factory=Generator3DConfig)
    realtime: RealtimeConfig = Field(default_factory=RealtimeConfig)
    viewer: ViewerConfig = Field(default_factory=ViewerConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="after")
    def _frequencies_below_nyquist(self) -> Config:
        nyquist = self.window.sfreq / 2
        band = self.preprocessing.bandpass
        if band is not None and band[1] >= nyquist:
            raise ValueError(
                f"preprocessing.bandpass high edge {band[1]} Hz must be below the Nyquist "
                f"frequency of window.sfreq ({nyquist} Hz)"
            )
        too_high = [f for f in self.preprocessing.notch if f >= nyquist]
        if too_high:
            raise ValueError(
                f"preprocessing.notch {too_high} Hz must be below the Nyquist frequency of "
                f"window.sfreq ({nyquist} Hz)"
            )
        return self

    def to_yaml(self) -> str:
        """The resolved configuration as YAML (paths as strings)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# ------------------------------------------------------------------------ loading
def default_config_path() -> Path:
    """The configuration file used when none is given.

    ``$BRAIN3D_CONFIG`` if set, else ``./config.yaml`` if it exists, else the
    repository's ``config.yaml``.
    """
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        return Path(env)
    local = Path.cwd() / "config.yaml"
    return local if local.is_file() else REPO_ROOT / "config.yaml"


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist; pass an existing file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a mapping of sections (source, channels, ...), "
            f"not a {type(data).__name__}"
        )
    return data


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into a copy of ``base``; mappings merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse one ``key.path=value`` override; the value is read as YAML.

    Examples
    --------
    >>> parse_override("window.hop=16")
    (['window', 'hop'], 16)
    >>> parse_override("onnx.providers=[cpu]")
    (['onnx', 'providers'], ['cpu'])
    """
    key, sep, raw = text.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not sep or not key.strip() or any(not p for p in parts):
        raise ConfigError(
            f"override {text!r} is not of the form key.path=value (e.g. window.hop=16)"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: the value is not valid YAML ({exc})") from exc
    return parts, value


def _apply_override(data: dict[str, Any], parts: list[str], value: Any, text: str) -> None:
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            path = ".".join(parts[: depth + 1])
            raise ConfigError(f"override {text!r}: {path} is a value, not a section")
        node = child
    node[parts[-1]] = value


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section at ``loc`` (for 'unknown key' messages)."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _format_loc(loc: tuple[Any, ...]) -> str:
    """``('onnx', 'providers', 1)`` -> ``onnx.providers[1]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def format_validation_error(error: ValidationError, source: str) -> str:
    """Turn a pydantic error into one line per problem: ``key.path = value: allowed``."""
    lines = [f"invalid configuration ({source}):"]
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _format_loc(loc)
        value = item.get("input")
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            lines.append(f"  {path}: unknown key (allowed here: {allowed})")
            continue
        message = item["msg"].removeprefix("Value error, ")
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        lines.append(f"  {path} = {shown}: {message}")
    return "\n".join(lines)


def validate_config(data: dict[str, Any], base_dir: Path, source: str = "<dict>") -> Config:
    """Validate a raw mapping into :class:`Config`.

    Parameters
    ----------
    data : dict
        Sections as read from YAML.
    base_dir : Path
        Folder that relative paths are resolved against.
    source : str
        Where the data came from, for error messages.
    """
    try:
        return Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    extra_files: list[str | os.PathLike[str]] | None = None,
    overrides: list[str] | None = None,
) -> Config:
    """Load, merge and validate the configuration.

    Parameters
    ----------
    path : path-like, optional
        Main configuration file; :func:`default_config_path` when omitted.
    extra_files : list of path-like, optional
        YAML files merged on top, in order (e.g. a site or experiment config).
    overrides : list of str, optional
        ``key.path=value`` strings applied last (values read as YAML).

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        One error listing every problem with its key path, value and what is allowed.
    """
    main = Path(path) if path is not None else default_config_path()
    data = _read_yaml(main)
    sources = [str(main)]
    for extra in extra_files or []:
        data = _deep_merge(data, _read_yaml(Path(extra)))
        sources.append(str(extra))
    for text in overrides or []:
        parts, value = parse_override(text)
        _apply_override(data, parts, value, text)
        sources.append(f"--set {text}")
    config = validate_config(data, main.resolve().parent, " + ".join(sources))
    logger.debug("configuration loaded from %s", " + ".join(sources))
    return config
