"""The one place the app calls the engine: catalogue, models, rooms, insights and the Lab's work.

Pages never touch model math or SQL; they call ``services.x``, which caches what is expensive
(the catalogue, fitted models, the store) once per process and shares it across sessions.
Services return data and never draw: a page that wants progress passes a callback and draws the
bar itself, and messages for people (a dataset that went away, a model that had to be trained)
come back as values for the page to show.

``catalogue``: the films and lookups; ``models``: the shared fitted models; ``rooms``: the store
and what the engine does for a room; ``insights``: the Explore views; ``lab``: manifests and
retraining; ``search``: fuzzy title search; ``tonight``: what Tonight's vote decided.
"""

from app.services.catalogue import (
    DATASET_PATH_KEY,
    dataset_path,
    film,
    film_by_movie_id,
    genres,
    get_catalogue,
    items_of,
    load_folder_catalogue,
    movie_index,
    popular_items,
    search_options,
    set_dataset_path,
    take_dataset_note,
    year_range,
)
from app.services.insights import (
    INSIGHT_FALLBACK,
    FactorMap,
    bias_ranking,
    ego_graph,
    factor_map,
    insight_models,
    n_components,
    similar_films,
    similar_members,
)
from app.services.lab import model_hyperparameters, model_manifests, retrain_model
from app.services.models import (
    DEFAULT_MODEL_ENV,
    FALLBACK_MODEL,
    PREFERRED_MODEL,
    SERVING_THREADS,
    ModelUnavailable,
    default_model_name,
    get_model,
    model_family,
    model_kind,
    model_names,
    model_token,
    prepare_model,
    use_serving_threads,
)
from app.services.rooms import (
    PicksOptions,
    RoomPeople,
    RoomPicks,
    agreeing_strategies,
    get_store,
    group_picks,
    member_states,
    next_films,
    room_people,
    room_picks,
    strategies,
    strategy_description,
)
from app.services.search import MIN_QUERY, search_films
from app.services.tonight import TONIGHT, Decision, decide, excluded_tonight

__all__ = [
    "DATASET_PATH_KEY",
    "DEFAULT_MODEL_ENV",
    "FALLBACK_MODEL",
    "INSIGHT_FALLBACK",
    "MIN_QUERY",
    "PREFERRED_MODEL",
    "SERVING_THREADS",
    "TONIGHT",
    "Decision",
    "FactorMap",
    "ModelUnavailable",
    "PicksOptions",
    "RoomPeople",
    "RoomPicks",
    "agreeing_strategies",
    "bias_ranking",
    "dataset_path",
    "decide",
    "default_model_name",
    "ego_graph",
    "excluded_tonight",
    "factor_map",
    "film",
    "film_by_movie_id",
    "genres",
    "get_catalogue",
    "get_model",
    "get_store",
    "group_picks",
    "insight_models",
    "items_of",
    "load_folder_catalogue",
    "member_states",
    "model_family",
    "model_hyperparameters",
    "model_kind",
    "model_manifests",
    "model_names",
    "model_token",
    "movie_index",
    "n_components",
    "next_films",
    "popular_items",
    "prepare_model",
    "retrain_model",
    "room_people",
    "room_picks",
    "search_films",
    "search_options",
    "set_dataset_path",
    "similar_films",
    "similar_members",
    "strategies",
    "strategy_description",
    "take_dataset_note",
    "use_serving_threads",
    "year_range",
]
