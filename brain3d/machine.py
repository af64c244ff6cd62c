"""Facts about the machine that produced a figure (benchmarks state their machine)."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(packages: tuple[str, ...] = ("torch", "onnxruntime", "onnxruntime-gpu", "onnx", "numpy")) -> dict[str, object]:
    """CPU, core count, memory, OS, Python and package versions, GPU if any.

    Returns
    -------
    dict
        JSON-ready mapping.
    """
    info: dict[str, object] = {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: v for name in packages if (v := _version(name)) is not None},
    }
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        import torch

        info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["cuda_device"] = None
    return info
