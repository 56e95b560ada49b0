"""Which torch device the engine computes on.

CUDA when present, else CPU; ``MOVIENIGHT_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``) overrides,
so a user with a GPU can still benchmark the CPU path.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "MOVIENIGHT_DEVICE"


def default_device() -> torch.device:
    """The device models train and score on unless told otherwise."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        device = torch.device(override)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{ENV_VAR}={override} but CUDA is not available on this machine")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve(device: str | torch.device | None) -> torch.device:
    """``None`` means the default device; strings are parsed."""
    return default_device() if device is None else torch.device(device)


def describe(device: torch.device | None = None) -> str:
    """A human line naming the device, for logs and benchmark headers."""
    device = resolve(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
