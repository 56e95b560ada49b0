"""Fitted models for the current catalogue: which families there are, the default, and one shared
fitted model per family, loaded from ``data/models/`` or trained on first use.

Also the serving process's torch threads (``use_serving_threads``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.services.catalogue import get_catalogue
from engine.data.paths import data_dir
from engine.data.ratings import Ratings
from engine.models.base import Recommender
from engine.progress import Progress

DEFAULT_MODEL_ENV = "MOVIENIGHT_DEFAULT_MODEL"
# The hybrid (P(watch) × E[rating], als × pmf) picks films members go on to watch and like about
# twice as often as mf's star ranking in protocol G (docs/BENCHMARKS.md), and it still shows each
# member's expected stars; its first-run training takes ~15 s on 2 cores, with a progress bar.
PREFERRED_MODEL = "hybrid"
FALLBACK_MODEL = "baseline"
# Intra-op threads of the serving process. Each Streamlit rerun runs on its own thread, and a
# request's tensor work is tiny (fold-ins of a few ratings, one blend over the catalogue): with
# several intra-op threads, waking the pool for 10×32 matrices cost 50–1000 ms on a busy 2-core
# machine against ~0.5 ms for the maths itself (6 fold-ins: 2.5 ms on one thread, 127–1421 ms on
# two). Concurrency comes from sessions, not from splitting one small product.
SERVING_THREADS = 1


class ModelUnavailable(RuntimeError):
    """A model could not be loaded or trained; the message says why and what to do."""


def use_serving_threads() -> None:
    """Set torch's intra-op threads for serving, once when the server process starts.

    Threads started later (every rerun's) take the setting from the process; setting it per
    request instead (and restoring it after) raced between sessions' threads.
    """
    import torch

    torch.set_num_threads(SERVING_THREADS)


def model_names() -> list[str]:
    """Registered model families, the default first."""
    from engine.models import REGISTRY

    default = default_model_name()
    return [default, *sorted(n for n in REGISTRY if n != default)]


def default_model_name() -> str:
    """``MOVIENIGHT_DEFAULT_MODEL`` (tests use a fast one), else the hybrid, else the bias
    baseline."""
    from engine.models import REGISTRY

    chosen = os.environ.get(DEFAULT_MODEL_ENV, "").strip()
    if chosen in REGISTRY:
        return chosen
    return PREFERRED_MODEL if PREFERRED_MODEL in REGISTRY else FALLBACK_MODEL


def model_family(name: str) -> type[Recommender] | None:
    """The registered class of family ``name``, or None when its module cannot be imported (a
    broken install or registry entry): pages then offer it as "unavailable" instead of failing,
    and picking it explains why."""
    from engine.models import model_class

    try:
        return model_class(name)
    except (ImportError, AttributeError):
        return None


def model_kind(name: str) -> str:
    """Whether the family predicts stars ("explicit") or ranks what people watch ("implicit");
    "unavailable" when it cannot be imported."""
    family = model_family(name)
    return "unavailable" if family is None else family.kind


# --------------------------------------------------------------------------- the shared models

ModelKey = tuple[str, str, str]  # (data dir, dataset fingerprint, model family)


@dataclass(frozen=True)
class Fitted:
    """A fitted model, how it came to be (load_or_train's message) and its generation: 0 when
    first loaded, +1 each time the Lab page replaces it (a key for caches built from it)."""

    model: Recommender
    message: str
    generation: int


class _ModelCache:
    """One fitted model per (data dir, dataset, family), shared by every session.

    Hand-written rather than ``st.cache_resource``: loading may mean training, and the page that
    triggers it draws a progress bar through a callback while it runs. ``st.cache_resource``
    records every element drawn during its function and replays them on each later hit, and
    replaying updates to a bar created outside the function fails (CacheReplayClosureError).
    A lock per key makes concurrent sessions wait for one training instead of each starting
    their own, and the Lab page's retrain replaces an entry under the same lock.
    """

    def __init__(self) -> None:
        self._fitted: dict[ModelKey, Fitted] = {}
        self._locks: dict[ModelKey, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: ModelKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: ModelKey) -> Fitted | None:
        return self._fitted.get(key)

    def put(self, key: ModelKey, model: Recommender, message: str) -> Fitted:
        """Store ``model`` for ``key`` (call with the key's lock held)."""
        before = self._fitted.get(key)
        fitted = Fitted(model, message, 0 if before is None else before.generation + 1)
        self._fitted[key] = fitted
        return fitted


_CACHE = _ModelCache()


def _key(name: str, catalogue: Ratings) -> ModelKey:
    return (str(data_dir()), catalogue.fingerprint, name)


def _fitted(name: str | None, progress: Progress | None) -> tuple[Fitted, bool]:
    """(the shared fitted model, whether this call loaded or trained it)."""
    from engine.train import load_or_train

    name = name or default_model_name()
    cat = get_catalogue()
    key = _key(name, cat)
    found = _CACHE.get(key)
    if found is not None:
        return found, False
    with _CACHE.lock(key):
        found = _CACHE.get(key)
        if found is not None:  # another session finished it while we waited
            return found, False
        try:
            model, message = load_or_train(name, cat, progress=progress)
        except Exception as exc:
            raise ModelUnavailable(
                f"The {name!r} model could not be loaded or trained ({type(exc).__name__}: "
                f"{exc}). Pick another model."
            ) from exc
        return _CACHE.put(key, model, message), True


def get_model(name: str | None = None, progress: Progress | None = None) -> tuple[Recommender, str]:
    """(fitted model, how it was obtained): loaded from data/models/, or trained now (reporting
    to ``progress``) and saved; then shared by every session. Raises ``ModelUnavailable``."""
    fitted, _ = _fitted(name, progress)
    return fitted.model, fitted.message


def prepare_model(name: str | None = None, progress: Progress | None = None) -> str | None:
    """Make sure the model is ready before a page uses it; returns why it had to be trained when
    this call trained it (missing, damaged, made for other data), else None."""
    fitted, just_now = _fitted(name, progress)
    return fitted.message if just_now and not fitted.message.startswith("loaded") else None


def model_token(name: str) -> tuple[str, str, str, int]:
    """A cache key for everything computed from the current ``name`` model: it changes with the
    data dir, the dataset and every retrain on the Lab page."""
    fitted, _ = _fitted(name, None)
    return (*_key(name, get_catalogue()), fitted.generation)


def replace_model(
    name: str, fit: Callable[[Ratings], tuple[Recommender, dict[str, Any]]], message: str
) -> tuple[Recommender, dict[str, Any]]:
    """Fit ``name`` anew with ``fit(catalogue)`` and make every session use the result.

    Holds the model's lock while fitting, so a session that asks for it meanwhile waits for the
    new one rather than loading the old.
    """
    cat = get_catalogue()
    key = _key(name, cat)
    with _CACHE.lock(key):
        model, extra = fit(cat)
        _CACHE.put(key, model, message)
    return model, extra
