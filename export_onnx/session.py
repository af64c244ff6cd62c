"""The one factory for onnxruntime sessions of the fast path.

Execution providers are tried in the configured order (TensorRT, CUDA, CPU by
default); providers that this onnxruntime build lacks, or whose libraries cannot be
loaded here (onnxruntime-gpu without TensorRT installed, say), are skipped and the
fallback is logged once per process. On CUDA/TensorRT the session runs with IO
binding; on the CPU a plain ``run``. Inputs are checked (shape, dtype, finiteness) before
onnxruntime sees them, and outputs are checked before the caller does.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from brain3d.errors import BackendError, InputError, ModelLoadError, ModelOutputError
from export_onnx.export import INPUT_NAME, OUTPUT_NAMES
from export_onnx.metadata import FastPathMetadata, parse_metadata

logger = logging.getLogger(__name__)

#: Config names of execution providers -> onnxruntime names.
PROVIDER_NAMES: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_GPU_PROVIDERS = {"TensorrtExecutionProvider", "CUDAExecutionProvider"}
#: onnxruntime names -> the stem of their provider library in ``onnxruntime/capi``.
_PROVIDER_LIBRARIES = {"TensorrtExecutionProvider": "tensorrt", "CUDAExecutionProvider": "cuda"}
#: Options per provider. TF32 is off on CUDA: onnxruntime enables it by default on
#: Ampere and later, and it rounds fp32 matmuls/convolutions to a 10-bit mantissa
#: (measured on an H200: latent error 6e-3 against torch fp32, 60x the fp32 parity
#: tolerance); the fast path is too small (0.34 ms) for TF32 to matter to its speed.
PROVIDER_OPTIONS: dict[str, dict[str, str]] = {"CUDAExecutionProvider": {"use_tf32": "0"}}
_logged_fallbacks: set[tuple[str, ...]] = set()


@functools.cache
def provider_library_problem(provider: str) -> str | None:
    """Why a GPU provider's library cannot be loaded here, or None when it can (or when unknown).

    onnxruntime-gpu lists TensorRT and CUDA as available whenever it was built with
    them, installed or not. A session asking for one whose libraries are missing (no
    TensorRT, or no cuDNN) prints an "EP Error" to stdout and retries with other
    providers. Loading the provider library first, with the same ``dlopen`` that
    onnxruntime uses, tells beforehand and names the missing library.

    Parameters
    ----------
    provider : str
        onnxruntime provider name (``"TensorrtExecutionProvider"``).

    Returns
    -------
    str or None
        The loader's message when a library the provider needs is missing; None when
        it loads, when the provider has no separate library (CPU), or when this build
        keeps it elsewhere (then onnxruntime decides, as before).
    """
    stem = _PROVIDER_LIBRARIES.get(provider)
    if stem is None:
        return None
    name = f"onnxruntime_providers_{stem}.dll" if os.name == "nt" else f"libonnxruntime_providers_{stem}.so"
    path = Path(ort.__file__).parent / "capi" / name
    if not path.is_file():
        return None
    try:
        ctypes.CDLL(str(path))
    except OSError as exc:
        message = str(exc)
        # only a missing library is a verdict; other loader errors are left to onnxruntime
        missing = "cannot open shared object file" in message or "could not be found" in message
        return message if missing else None
    return None


@dataclass(frozen=True)
class FastPathOutput:
    """One fast-path inference.

    Attributes
    ----------
    latent : np.ndarray
        (batch, latent_dim) float32.
    image : np.ndarray
        (batch, 3, H, W) float32 in [-1, 1].
    """

    latent: np.ndarray
    image: np.ndarray


def resolve_providers(requested: Sequence[str], available: Sequence[str] | None = None) -> list[str]:
    """onnxruntime provider names to use, in order, from config names.

    Parameters
    ----------
    requested : sequence of {"tensorrt", "cuda", "cpu"}
        Preference order from ``onnx.providers``.
    available : sequence of str, optional
        Providers of this onnxruntime build (``ort.get_available_providers()``).

    Returns
    -------
    list of str
        The requested providers this build has and can load, CPU always last as the
        safety net.

    Notes
    -----
    A fallback (a requested provider missing or not loadable) is logged once per
    process.
    """
    available = list(ort.get_available_providers() if available is None else available)
    unknown = [name for name in requested if name not in PROVIDER_NAMES]
    if unknown:
        raise BackendError(
            f"unknown execution provider(s) {unknown}; use tensorrt, cuda or cpu in onnx.providers"
        )
    chosen: list[str] = []
    missing: list[str] = []
    unloadable: dict[str, str] = {}
    for name in requested:
        provider = PROVIDER_NAMES[name]
        if provider not in available:
            missing.append(name)
        elif (problem := provider_library_problem(provider)) is not None:
            unloadable[name] = problem
        else:
            chosen.append(provider)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    key = (*missing, *unloadable)
    if key and key not in _logged_fallbacks:
        _logged_fallbacks.add(key)
        if missing:
            logger.warning(
                "execution provider(s) %s not available in this onnxruntime build (%s); using %s. "
                "Install the 'gpu' extra (onnxruntime-gpu) on a CUDA machine for GPU inference.",
                ", ".join(missing), ", ".join(available), chosen[0],
            )
        for name, problem in unloadable.items():
            logger.warning(
                "execution provider %s is in this onnxruntime build but its libraries cannot be "
                "loaded (%s); using %s. Install them (TensorRT 10 for tensorrt; CUDA and cuDNN 9 "
                "for cuda) on the library path, or drop %s from onnx.providers.",
                name, problem, chosen[0], name,
            )
    return chosen


def _session_options(intra_op_threads: int, inter_op_threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    return options


class FastPathSession:
    """An onnxruntime session of the exported encoder + decoder.

    Parameters
    ----------
    path : path-like
        Exported graph (any precision variant).
    providers : sequence of str
        Config provider names in preference order.
    intra_op_threads, inter_op_threads : int
        onnxruntime thread pools (0 = onnxruntime decides).
    warmup_runs : int
        Inferences run once at start so the first real window pays no set-up cost.

    Attributes
    ----------
    metadata : FastPathMetadata
        The graph's contract (channels, rate, window, normalisation, weights hash).
    provider : str
        The execution provider that actually runs the graph.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        providers: Sequence[str] = ("tensorrt", "cuda", "cpu"),
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        warmup_runs: int = 20,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelLoadError(f"exported model {self.path} does not exist; run `brain3d export`")
        chosen = resolve_providers(providers)
        try:
            self._session = ort.InferenceSession(
                str(self.path), _session_options(intra_op_threads, inter_op_threads),
                providers=[(name, PROVIDER_OPTIONS.get(name, {})) for name in chosen],
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelLoadError(
                f"onnxruntime cannot load {self.path} ({exc}); re-export it with `brain3d export`"
            ) from exc
        self.metadata: FastPathMetadata = parse_metadata(
            self._session.get_modelmeta().custom_metadata_map, str(self.path)
        )
        self.provider: str = self._session.get_providers()[0]
        self._use_io_binding = self.provider in _GPU_PROVIDERS
        self._check_graph_signature()
        logger.info(
            "fast path %s on %s (%s, %d intra-op threads)",
            self.path.name, self.provider, self.metadata.precision, intra_op_threads,
        )
        self.warm_up(warmup_runs)

    def _check_graph_signature(self) -> None:
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if inputs != [INPUT_NAME] or outputs != list(OUTPUT_NAMES):
            raise ModelLoadError(
                f"{self.path} has inputs {inputs} and outputs {outputs}; expected "
                f"[{INPUT_NAME!r}] -> {list(OUTPUT_NAMES)}. Re-export it with `brain3d export`"
            )

    @property
    def input_shape(self) -> tuple[int, int]:
        """(channels, samples) of one window."""
        return (self.metadata.n_channels, self.metadata.n_times)

    def warm_up(self, runs: int) -> None:
        """Run ``runs`` inferences on zeros (allocations, kernel selection, TensorRT build)."""
        dummy = np.zeros((1, *self.input_shape), dtype=np.float32)
        for _ in range(runs):
            self._run_unchecked(dummy)

    def validate_input(self, eeg: np.ndarray) -> np.ndarray:
        """Check one window or a batch and return it as (batch, channels, samples).

        Raises
        ------
        InputError
            Not a float32 array, wrong shape, or NaN/Inf values.
        """
        if not isinstance(eeg, np.ndarray):
            raise InputError(f"eeg must be a numpy array, got {type(eeg).__name__}")
        if eeg.dtype != np.float32:
            raise InputError(
                f"eeg must be float32, got {eeg.dtype}; convert with eeg.astype(np.float32)"
            )
        batch = eeg[np.newaxis] if eeg.ndim == 2 else eeg
        channels, samples = self.input_shape
        if batch.ndim != 3 or batch.shape[1:] != (channels, samples):
            raise InputError(
                f"eeg has shape {eeg.shape}; the model takes (channels={channels}, "
                f"samples={samples}) or (batch, {channels}, {samples}) at {self.metadata.sfreq:g} Hz"
            )
        if batch.shape[0] == 0:
            raise InputError("eeg batch is empty")
        if not np.isfinite(batch).all():
            bad = sorted({int(c) for c in np.argwhere(~np.isfinite(batch))[:, 1]})
            names = [self.metadata.channel_names[c] for c in bad[:8]]
            raise InputError(
                f"eeg contains NaN or Inf in channel(s) {names}; such windows must be "
                "flagged by preprocessing and not fed to the model"
            )
        return np.ascontiguousarray(batch)

    def _run_unchecked(self, batch: np.ndarray) -> list[np.ndarray]:
        if self._use_io_binding:
            binding = self._session.io_binding()
            binding.bind_cpu_input(INPUT_NAME, batch)
            for name in OUTPUT_NAMES:
                binding.bind_output(name, "cpu")
            self._session.run_with_iobinding(binding)
            return binding.copy_outputs_to_cpu()
        return self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch})

    def _validate_output(self, outputs: list[np.ndarray], batch_size: int) -> FastPathOutput:
        latent, image = outputs
        size = self.metadata.image_size
        expected = {
            "latent": (batch_size, self.metadata.latent_dim),
            "image": (batch_size, 3, size, size),
        }
        for name, array in zip(OUTPUT_NAMES, (latent, image), strict=True):
            if array.shape != expected[name]:
                raise ModelOutputError(
                    f"{self.path.name} returned {name} of shape {array.shape}, expected "
                    f"{expected[name]}; the graph does not match its metadata, re-export it"
                )
            if not np.isfinite(array).all():
                raise ModelOutputError(
                    f"{self.path.name} returned NaN/Inf in {name}; check the weights "
                    "(corrupt or diverged training) and the input normalisation"
                )
        return FastPathOutput(latent=latent.astype(np.float32, copy=False), image=image.astype(np.float32, copy=False))

    def run(self, eeg: np.ndarray) -> FastPathOutput:
        """Decode one window (channels, samples) or a batch (batch, channels, samples).

        Parameters
        ----------
        eeg : np.ndarray
            float32, normalised microvolts, channels in ``metadata.channel_names`` order.

        Returns
        -------
        FastPathOutput
            Batched outputs (batch 1 for a single window).
        """
        batch = self.validate_input(eeg)
        try:
            outputs = self._run_unchecked(batch)
        except Exception as exc:
            raise BackendError(f"onnxruntime failed on {self.provider}: {exc}") from exc
        return self._validate_output(outputs, batch.shape[0])
