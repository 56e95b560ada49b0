"""Model families behind one interface (``base.Recommender``), created by name.

The registry maps a name to ``module:Class`` and imports lazily, so importing ``engine.models``
stays cheap and a model family's heavy imports load only when it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, cast

import torch

from engine.models.base import ExplicitRecommender, Recommender, UserState
from engine.models.config import Config, Param

REGISTRY: dict[str, str] = {
    "popularity": "engine.models.baselines:Popularity",
    "baseline": "engine.models.baselines:BiasBaseline",
    "mf": "engine.models.mf:MatrixFactorization",
    "als": "engine.models.als:ImplicitALS",
    "knn": "engine.models.knn:ItemKNN",
    "pmf": "engine.models.pmf:PMF",
    "bpmf": "engine.models.bpmf:BPMF",
    "ease": "engine.models.ease:EASE",
    "ease-foldin": "engine.models.ease:EASEFoldIn",
    "ranking": "engine.models.ranking:BilinearRanking",
    "ranking-mlp": "engine.models.ranking:MLPRanking",
    "hybrid": "engine.models.hybrid:Hybrid",
    "lmf": "engine.models.lmf:LogisticMF",
    "embedding-nn": "engine.models.embedding_nn:EmbeddingNN",
    "graph": "engine.models.graph_embedding:GraphEmbedding",
}


def model_class(name: str) -> type[Recommender]:
    """The class registered under ``name``; a clear error lists the known names."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose from {', '.join(sorted(REGISTRY))}"
        ) from None
    module, _, cls = target.partition(":")
    return cast(type[Recommender], getattr(import_module(module), cls))


def create(name: str, device: str | torch.device | None = None, **params: Any) -> Recommender:
    """A new, unfitted model of family ``name`` with hyperparameters ``params``."""
    return model_class(name)(device=device, **params)


__all__ = [
    "REGISTRY",
    "Config",
    "ExplicitRecommender",
    "Param",
    "Recommender",
    "UserState",
    "create",
    "model_class",
]
