"""Interruptible, resumable training: save the model's tensors after each epoch, resume at fit start.

A long fit (ALS or MF on 25M ratings) must survive Ctrl-C or a closed laptop. A model whose class
sets ``resumable = True`` (``als``, ``mf``, ``pmf``) accepts ``fit(train, progress, checkpoint=...)``;
``Recommender.fit`` keeps the checkpoint in ``self._checkpoint`` for the fit (None otherwise, and a
checkpoint given to any other model is a TypeError). Its ``_fit`` does two things:

1. at fit start, *after* initialising its parameters from its seed::

       start = checkpoint.resume(self, train) if checkpoint else 0   # 0 when nothing is saved

   ``resume`` loads the saved ``checkpoint_tensors()`` through ``load_checkpoint_tensors`` and
   returns the number of completed epochs; the loop then runs ``for epoch in range(start, epochs)``.
2. at the end of each epoch, *before* calling ``progress`` (so that an exception raised by the
   listener, e.g. a KeyboardInterrupt, never loses the finished epoch)::

       checkpoint.save(self, epoch + 1, train)

For a resumed run to equal an uninterrupted one, everything an epoch depends on must be in
``checkpoint_tensors()`` or derived from the data, the seed and the epoch number.
``checkpoint_tensors()`` defaults to ``state_tensors()`` (the saved model) and is where a model
adds training-only state, so the final artifact never carries it:

* ALS needs nothing more (its epochs are deterministic given the factors);
* PMF (VB and MAP alike: closed-form block updates, no optimiser) adds the MAP objective history;
* MF adds Adam's moments (``adam.<tensor>.exp_avg``, ``.exp_avg_sq``, ``.step``) and draws each
  mini-batch epoch's shuffle from ``engine.models.base.epoch_generator(seed, epoch)`` rather than
  from one running generator.

On CPU a resumed fit then equals the uninterrupted one (the tests compare with a tight tolerance;
it is bitwise equal in practice). On CUDA some kernels are not bitwise deterministic (atomic adds
in MF's gradient scatter, in sparse products), so there any two fits, resumed or not, may differ
at float rounding level.

Files: ``<folder>/checkpoint.json`` (epoch, model name, hyperparameters, dataset fingerprint, the
tensors' file name and SHA-256) and the tensors it names, ``<folder>/checkpoint-<sha256[:16]>.safetensors``.
The record is the commit point: a save writes the new tensors under a new name, then renames the
new record over the old one, and only then deletes tensors no record names. A process killed at any
instant (SIGKILL: no handler runs) leaves a record whose tensors exist and match it, so the next
run resumes from the last committed epoch. (With one fixed tensor file, a kill between its rename
and the record's left new tensors under the old record; the checksum then failed and the take-over
started from the first epoch: KI-14 in docs/KNOWN_ISSUES.md.) A checkpoint from another model,
other hyperparameters or another dataset is ignored (with a note in ``skipped``, also passed to
``log``), never loaded. Nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.data.ratings import Ratings
from engine.storage.files import atomic_write, sha256_file

META = "checkpoint.json"
TENSOR_PREFIX, TENSOR_SUFFIX = "checkpoint-", ".safetensors"
_TENSOR_NAME = re.compile(r"checkpoint-[0-9a-f]{16}\.safetensors")


class Hyperparameters(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Checkpointable(Protocol):
    """What a checkpoint needs of a model (``engine.models.base.Recommender`` has it all): its
    identity, its device, and the tensors an epoch depends on. A protocol, so that this module
    never imports the models that use it."""

    name: ClassVar[str]  # the model family's registered name, declared on its class

    @property
    def config(self) -> Hyperparameters: ...

    @property
    def device(self) -> torch.device: ...

    def checkpoint_tensors(self) -> Mapping[str, torch.Tensor]: ...

    def load_checkpoint_tensors(self, tensors: dict[str, torch.Tensor]) -> None: ...


class Checkpoint:
    """Per-epoch snapshots of one model's training in ``folder``.

    ``every``: save after every ``every``-th epoch (and always after the last one a model reports
    via ``final=True``). ``saved_epoch`` is the last epoch written or resumed from. ``log``, when
    given, hears "resuming from epoch N" or why a saved checkpoint was skipped, as it happens.
    """

    def __init__(
        self, folder: str | Path, every: int = 1, log: Callable[[str], None] | None = None
    ):
        if every < 1:
            raise ValueError("every must be at least 1 epoch")
        self.folder = Path(folder)
        self.every = every
        self.log = log
        self.saved_epoch = 0
        self.resumed_from = 0
        self.skipped: str | None = None

    def _skip(self, reason: str) -> int:
        self.skipped = reason
        if self.log is not None:
            self.log(reason)
        return 0

    # ------------------------------------------------------------------ identity
    @staticmethod
    def _identity(model: Checkpointable, train: Ratings | None) -> dict[str, Any]:
        return {
            "model": model.name,
            "hyperparameters": model.config.to_dict(),
            "dataset": None if train is None else train.fingerprint,
        }

    # ------------------------------------------------------------------ writing
    def save(
        self, model: Checkpointable, epoch: int, train: Ratings | None = None, final: bool = False
    ) -> bool:
        """Snapshot ``model.checkpoint_tensors()`` as of ``epoch`` completed epochs; returns whether it
        wrote (only every ``every`` epochs unless ``final``)."""
        if not final and epoch % self.every:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().contiguous().cpu() for k, v in model.checkpoint_tensors().items()}
        staged = self.folder / f".{TENSOR_PREFIX}staged{TENSOR_SUFFIX}"
        atomic_write(staged, lambda p: save_file(tensors, str(p)))
        digest = sha256_file(staged)
        tensor_file = self.folder / f"{TENSOR_PREFIX}{digest[:16]}{TENSOR_SUFFIX}"
        os.replace(staged, tensor_file)  # a new name: the committed tensors stay untouched
        meta = {
            **self._identity(model, train),
            "epoch": int(epoch),
            "tensors": tensor_file.name,
            "sha256": digest,
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write(self.folder / META, lambda p: p.write_text(json.dumps(meta, indent=2)))
        self._delete_tensors(keep=tensor_file.name)  # only once the record names the new ones
        self.saved_epoch = int(epoch)
        return True

    # ------------------------------------------------------------------ reading
    def epoch(self) -> int:
        """Completed epochs in the saved checkpoint (0 when there is none)."""
        meta = self._meta()
        return 0 if meta is None else int(meta["epoch"])

    def tensor_file(self) -> Path | None:
        """The committed tensors' file (None when no record names one)."""
        return self._tensor_file(self._meta())

    def _tensor_file(self, meta: dict[str, Any] | None) -> Path | None:
        name = None if meta is None else meta.get("tensors")
        return (
            self.folder / name if isinstance(name, str) and _TENSOR_NAME.fullmatch(name) else None
        )

    def _meta(self) -> dict[str, Any] | None:
        file = self.folder / META
        if not file.exists():
            return None
        try:
            meta = json.loads(file.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._skip(f"{file} is not valid JSON")
            return None
        return meta if isinstance(meta, dict) and "epoch" in meta else None

    def resume(self, model: Checkpointable, train: Ratings | None = None) -> int:
        """Load the saved state into ``model`` if it belongs to this model, configuration and
        dataset; returns the number of completed epochs to skip (0 = start from scratch)."""
        meta = self._meta()
        if meta is None:
            return 0
        identity = self._identity(model, train)
        for key, value in identity.items():
            if meta.get(key) != value:
                return self._skip(f"checkpoint in {self.folder} has another {key}; starting afresh")
        tensor_file = self._tensor_file(meta)  # the record already read above
        if tensor_file is None:
            return self._skip(f"{self.folder / META} names no tensor file of this folder")
        if not tensor_file.exists() or sha256_file(tensor_file) != meta.get("sha256"):
            # the record is committed after its tensors: this is an altered or deleted file
            return self._skip(f"{tensor_file} is missing or does not match its checksum")
        try:
            tensors = load_file(str(tensor_file), device=str(model.device))
            model.load_checkpoint_tensors(tensors)
        except (SafetensorError, KeyError, ValueError, RuntimeError) as exc:
            return self._skip(f"checkpoint in {self.folder} cannot be restored ({exc})")
        self.resumed_from = self.saved_epoch = int(meta["epoch"])
        if self.log is not None:
            self.log(f"resuming from epoch {self.resumed_from}")
        return self.resumed_from

    def child(self, name: str) -> Checkpoint:
        """A checkpoint in a subfolder, for a part of this fit that checkpoints on its own (the
        hybrid's component fits); ``clear`` clears it too."""
        log = self.log
        return Checkpoint(
            self.folder / name,
            every=self.every,
            log=None if log is None else (lambda message: log(f"{name}: {message}")),
        )

    def clear(self) -> None:
        """Delete the snapshot and those of its ``child`` checkpoints (e.g. once the finished
        model is saved as an artifact); folders are removed once empty, nothing else is."""
        if not self.folder.is_dir():
            return
        (self.folder / META).unlink(missing_ok=True)  # first: no record then names gone tensors
        self._delete_tensors(keep=None)
        for sub in self.folder.iterdir():
            if sub.is_dir() and not sub.is_symlink():
                Checkpoint(sub).clear()
                with contextlib.suppress(OSError):  # holds something that is not ours
                    sub.rmdir()

    def _delete_tensors(self, keep: str | None) -> None:
        """Delete this folder's tensor files except ``keep``, and the half-written temporary
        files (``.checkpoint…``) a killed process left behind."""
        for file in [
            *self.folder.glob(f"{TENSOR_PREFIX}*{TENSOR_SUFFIX}"),
            *self.folder.glob(".checkpoint*"),
        ]:
            if file.name != keep:
                file.unlink(missing_ok=True)
