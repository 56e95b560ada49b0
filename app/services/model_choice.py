"""Which model a room's pages use: the operator's choice for the room among the families that
give stars, else the app's default; and the one Explore draws, which needs film vectors.

The choice is an operator setting kept in the store (``app.store.room_models``); only a trained
model can be chosen, and a choice that no longer fits (its family gone, or no longer a room
model) quietly falls back to the default instead of failing the room's pages.
"""

from __future__ import annotations

from app.jobs.spec import default_model_name
from app.services.families import model_family, model_names
from app.services.served import trained_models
from app.services.store import get_store
from app.store import StoreError

# The model Explore falls back to when neither the room's nor the default has film vectors.
INSIGHT_FALLBACK = "mf"


def room_model_families() -> list[str]:
    """Families a room can use: those that give every member expected stars (the Picks cards
    show them), the default first. Never ``popularity``: it has no stars (it would show 5.0★
    for everyone)."""
    names = []
    for name in model_names():
        family = model_family(name)
        if family is not None and (
            family.kind == "explicit" or "expected_stars" in family.capabilities
        ):
            names.append(name)
    return names


def room_model(room_code: str | None) -> str:
    """The model a room's pages use: the operator's choice for the room if it is still a room
    model, else the app's default (also without a room)."""
    if room_code:
        try:
            chosen = get_store().room_model(room_code)
        except StoreError:
            chosen = None
        if chosen and chosen in room_model_families():
            return chosen
    return default_model_name()


def set_room_model(room_code: str, name: str | None) -> None:
    """Set a room's model (None: back to the default); an operator action, the page checks
    the credential. Only a trained room model can be chosen (``ValueError`` otherwise)."""
    if name is not None and name not in trained_models(room_model_families()):
        raise ValueError(
            f"{name!r} cannot be a room's model: choose one of "
            f"{', '.join(trained_models(room_model_families())) or 'the trained models'}."
        )
    get_store().set_room_model(room_code, name)


def explore_model(room_code: str | None) -> str:
    """The model Explore draws: the room's model when it has film vectors to draw, else the
    default's, else mf (the plainest vectors to read)."""
    for name in (room_model(room_code), default_model_name()):
        family = model_family(name)
        if family is not None and "item_vectors" in family.capabilities:
            return name
    return INSIGHT_FALLBACK
