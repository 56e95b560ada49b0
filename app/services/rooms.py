"""Rooms as the engine sees them: the shared store, each room's members with their ratings (and
films they have seen) as item indices, and the two things the engine does for a room (group
picks, films to rate next).

Picks are cached per *room state* (``Store.room_stamp``: members, answers, seen and watched
films, votes) and settings, shared by every session: a page that polls for changes re-blends only
when the room really changed, and switching back to a strategy already computed is instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import streamlit as st

from app.services.catalogue import get_catalogue, movie_index
from app.services.families import default_model_name
from app.services.model_choice import room_model
from app.services.models import get_model, ready_model
from app.services.room_input import PicksOptions, room_input, room_members
from app.services.served import model_key
from app.services.store import get_store
from app.store import RoomStamp
from engine.elicit import next_films as choose
from engine.group import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    Member,
    distinct_lists,
    recommend,
    recommend_each,
)
from engine.models.base import Recommender, UserState


@dataclass(frozen=True)
class RoomPeople:
    """A room's members as the engine sees them, plus their names in join order."""

    names: list[str]
    members: list[Member]


def room_people(room_code: str) -> RoomPeople:
    """Every member of the room with their star ratings mapped to item indices, and the films
    they said they have seen without rating them (``room_input.room_members``)."""
    names, members = room_members(get_store(), room_code, movie_index())
    return RoomPeople(names, members)


def member_states(room_code: str | None, model: Recommender) -> dict[str, UserState]:
    """Each member of the room folded into ``model`` (name -> UserState); {} without a room.
    Members who rated nothing get the model's prior (an empty state)."""
    if not room_code:
        return {}
    return fold_in_people(room_people(room_code), model)


def fold_in_people(people: RoomPeople, model: Recommender) -> dict[str, UserState]:
    """``people`` folded into ``model`` (name -> UserState), for a caller that already read
    the room (one read of the store, not two)."""
    return {
        name: model.fold_in(m.items, m.values)
        for name, m in zip(people.names, people.members, strict=True)
    }


def strategies() -> dict[str, str]:
    """Group strategy name -> human label, the default first."""
    names = [DEFAULT_STRATEGY, *(n for n in STRATEGIES if n != DEFAULT_STRATEGY)]
    return {n: STRATEGIES[n].label for n in names}


def strategy_description(name: str) -> str:
    return STRATEGIES[name].description


def group_picks(
    room_code: str,
    model_name: str | None = None,
    strategy: str | None = None,
    k: int = 10,
    genres: Iterable[str] = (),
    years: tuple[int, int] | None = None,
    min_ratings: int = 0,
    novelty: float = 0.0,
) -> pd.DataFrame:
    """The room's top-k films (engine.group.recommend's frame), computed now from
    ``room_input`` (members; films watched or ruled out tonight skipped; filters);
    ``novelty`` trades stars for less-seen films."""
    model, _ = get_model(model_name)
    options = PicksOptions(model_name, strategy, k, tuple(genres), years, int(min_ratings))
    room = room_input(get_store(), room_code, movie_index(), options)
    return recommend(
        model,
        get_catalogue(),
        room.members,
        strategy=strategy or DEFAULT_STRATEGY,
        k=k,
        exclude=room.exclude,
        filters=room.filters,
        novelty=novelty,
    )


@dataclass(frozen=True)
class RoomPicks:
    """The room's picks for some options, and the room state (``Store.room_stamp``) they are
    for: a live page blends again only when the stamp it polls differs."""

    frame: pd.DataFrame
    stamp: RoomStamp


@st.cache_resource(show_spinner=False, max_entries=256)
def _cached_picks(
    room_code: str, stamp: RoomStamp, model_key: tuple, options: PicksOptions
) -> pd.DataFrame:
    """One blend per (room state, model generation, options), shared by every session."""
    return group_picks(
        room_code,
        options.model_name,
        options.strategy,
        options.k,
        options.genres,
        options.years,
        options.min_ratings,
        options.novelty,
    )


def room_picks(room_code: str, options: PicksOptions, stamp: RoomStamp | None = None) -> RoomPicks:
    """The room's picks as of now (or as of ``stamp``, read by the caller just before), blended
    only if this room state and these options have not been blended before (by any session).
    Treat the frame as read-only."""
    stamp = get_store().room_stamp(room_code) if stamp is None else stamp
    name = options.model_name or default_model_name()
    options = replace(options, model_name=name)
    return RoomPicks(_cached_picks(room_code, stamp, model_key(name), options), stamp)


def same_picks_as(
    room_code: str,
    strategy: str,
    model_name: str | None = None,
    k: int = 10,
    genres: Iterable[str] = (),
    years: tuple[int, int] | None = None,
    min_ratings: int = 0,
) -> list[str]:
    """Labels of the other strategies that give this room exactly ``strategy``'s list (the
    same films in the same order), from the same ``room_input`` as ``group_picks``, so the page
    never offers a choice that changes nothing without saying so. The members are folded in
    once for all strategies."""
    model, _ = get_model(model_name)
    options = PicksOptions(model_name, strategy, k, tuple(genres), years, int(min_ratings))
    room = room_input(get_store(), room_code, movie_index(), options)
    frames = recommend_each(
        model, get_catalogue(), room.members, k=k, exclude=room.exclude, filters=room.filters
    )
    same = next(names for names in distinct_lists(frames) if strategy in names)
    return [STRATEGIES[n].label for n in same if n != strategy]


@st.cache_resource(show_spinner=False, max_entries=256)
def _cached_same(
    room_code: str, stamp: RoomStamp, model_key: tuple, options: PicksOptions
) -> list[str]:
    """``same_picks_as`` once per (room state, model generation, options), for every session."""
    return same_picks_as(
        room_code,
        options.strategy or "",
        options.model_name,
        options.k,
        options.genres,
        options.years,
        options.min_ratings,
    )


def room_same_picks(
    room_code: str, options: PicksOptions, stamp: RoomStamp | None = None
) -> list[str]:
    """``same_picks_as`` for the room as of now (or ``stamp``), blended only if this room state
    and these options have not been compared before: a live page asks on every redraw."""
    stamp = get_store().room_stamp(room_code) if stamp is None else stamp
    name = options.model_name or default_model_name()
    options = replace(options, model_name=name, strategy=options.strategy or DEFAULT_STRATEGY)
    return list(_cached_same(room_code, stamp, model_key(name), options))


def _split_answers(
    answers: Mapping[int, float | None], index: pd.Index
) -> tuple[dict[int, float], set[int]]:
    """A member's answers as item indices: (stars by item, items they have not seen)."""
    rated: dict[int, float] = {}
    unseen: set[int] = set()
    ids = np.fromiter(answers, dtype=np.int64, count=len(answers))
    for pos, rating in zip(index.get_indexer(ids).tolist(), answers.values(), strict=True):
        if pos < 0:  # a film no longer in this catalogue (the session switched datasets)
            continue
        if rating is None:
            unseen.add(pos)
        else:
            rated[pos] = float(rating)
    return rated, unseen


def next_films(token: str, n: int = 5, model_name: str | None = None) -> list[int]:
    """MovieLens ids the member should rate next, chosen by the elicitation engine with the
    room's model (``model_name`` overrides it). Rating never waits for training: while that
    model is still being trained, the default strategy asks without one (the films the member
    most probably saw, from how often films are watched together with their answers so far),
    and the model takes over once it is ready."""
    store = get_store()
    model = ready_model(model_name or room_model(store.member(token).room_code))
    cat = get_catalogue()
    rated, unseen = _split_answers(store.answers(token), movie_index())
    items = choose(model, cat, rated, unseen, n=n)
    return [int(cat.item_ids[i]) for i in items]
