"""The model families the app knows, by name: which there are (the default first), their class,
what they predict, and their names in plain words for guests.

A family whose module cannot be imported (a broken install or registry entry) is not an error
here: it is left out of what needs its class, and whoever asks for it is told why
(``app.services.models``).
"""

from __future__ import annotations

from app.jobs.spec import default_model_name
from engine.models import REGISTRY, model_class
from engine.models.base import Recommender

# Plain names for the families a room can use (guests see these, never a registry key alone).
MODEL_LABELS = {
    "hybrid": "likely to watch × likely to enjoy",
    "pmf": "predicted stars (probabilistic)",
    "mf": "predicted stars",
    "bpmf": "predicted stars (Bayesian)",
    "baseline": "film and viewer averages",
}


def model_names() -> list[str]:
    """Registered model families, the default first."""
    default = default_model_name()
    return [default, *sorted(n for n in REGISTRY if n != default)]


def model_family(name: str) -> type[Recommender] | None:
    """The registered class of family ``name``, or None when its module cannot be imported (a
    broken install or registry entry): it is then left out, and asking for it explains why."""
    try:
        return model_class(name)
    except (ImportError, AttributeError, ValueError):
        return None


def model_kind(name: str) -> str:
    """Whether the family predicts stars ("explicit") or ranks what people watch ("implicit");
    "unavailable" when it cannot be imported."""
    family = model_family(name)
    return "unavailable" if family is None else family.kind


def model_label(name: str) -> str:
    """The family in plain words, for people: "predicted stars (mf)"."""
    plain = MODEL_LABELS.get(name)
    return f"{plain} ({name})" if plain else name


__all__ = ["default_model_name", "model_family", "model_kind", "model_label", "model_names"]
