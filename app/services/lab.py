"""The Lab page's model work: saved manifests, default hyperparameters, and retraining a model so
that every page uses the new one."""

from __future__ import annotations

from typing import Any

from app.services.catalogue import get_catalogue
from app.services.models import replace_model
from engine.data.ratings import Ratings
from engine.models.base import Recommender
from engine.progress import Progress


def model_manifests() -> dict[str, dict[str, Any] | str]:
    """For each registered model: its saved manifest for the current dataset, or why there is none."""
    from engine.artifacts import ArtifactError, read_manifest
    from engine.models import REGISTRY
    from engine.train import model_dir

    cat = get_catalogue()
    found: dict[str, dict[str, Any] | str] = {}
    for name in sorted(REGISTRY):
        try:
            found[name] = read_manifest(model_dir(cat, name))
        except ArtifactError as exc:
            found[name] = str(exc)
    return found


def model_hyperparameters(name: str) -> dict[str, Any]:
    """The default hyperparameters of a model family (for the Lab's retrain form)."""
    from engine.models import model_class

    return model_class(name).config_class().to_dict()


def retrain_model(
    name: str,
    progress: Progress,
    params: dict[str, Any] | None = None,
    evaluate: bool = False,
) -> tuple[Recommender, dict[str, Any]]:
    """Train ``name`` on the current dataset now, save it, and make every page use it.

    With ``evaluate`` the model is first fitted on protocol E's train split to record a held-out
    RMSE in its manifest (explicit models; it trains twice). Runs in the page's own run (the
    next round moves training into a job process).
    """
    from engine.train import train_model

    def fit(catalogue: Ratings) -> tuple[Recommender, dict[str, Any]]:
        return train_model(
            name, catalogue, progress=progress, params=params or None, evaluate=evaluate
        )

    return replace_model(name, fit, f"retrained {name} on the Lab page")
