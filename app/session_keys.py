"""Every name this app keeps in ``st.session_state``, in one place: what a session remembers and
the keys of the widgets that write it.

A key is a contract between whoever writes it and whoever reads it (a callback and the page's
next run, a widget and the code that reads its value, a test that clicks it), and a bare string
typed in two places can drift apart without an error. Here each has one name.

The values are part of the app's outside: tests find widgets by them, ``assets/*.css`` and the
browser tests find containers by their ``st-key-<key>`` class, and the Picks settings' keys are
also their URL parameters (``bind="query-params"``), so shared links name them. Change a value
only together with those. The URL's own parameters (``?room=…``) are named where they are read:
``app.state`` and ``app.pages._explore_state``.
"""

from __future__ import annotations

import hashlib

# --------------------------------------------------------------------------- who is looking
# The session's copy of the URL's room, member and host (``app.state``), so a page switch that
# drops the query parameters loses nothing; member and host are kept with the room they are for.
ROOM = "mn_room"
MEMBER = "mn_member"
MEMBER_ROOM = "mn_member_room"
HOST = "mn_host"
HOST_ROOM = "mn_host_room"
FORGOTTEN_MEMBERS = "mn_forgotten_members"  # member tokens given up with "Not me"

# --------------------------------------------------------------------------- every page
FLASH = "mn_flash"  # (kind, message) to show once on the next run (``app.pages._flash``)
OPERATOR_TOKEN = "mn_operator_token"  # the organiser token this session signed in with
OPERATOR_TYPED = "mn_operator_typed"  # the sign-in box
OPERATOR_REFUSED = "mn_operator_refused"  # the last sign-in failed: say so once
DATASET_PATH = "mn_dataset_path"  # the MovieLens folder this session uses (``services.catalogue``)
DATASET_NOTE = "mn_dataset_note"  # why that folder was dropped, shown once

# --------------------------------------------------------------------------- Room page
NEW_ROOM_NAME = "new_room_name"
JOIN_CODE = "join_code"
MEMBER_NAME = "member_name"
FORGET_MEMBER = "forget_member"
LEAVE_ROOM = "leave_room"
STATUS_BAR = "mn_status_bar"


def deck(token: str) -> str:
    """The rating deck's key: one per member, so switching member never mixes two queues; a
    digest, so the member's secret token appears neither in the page nor in the browser's
    storage."""
    return "mn_deck_" + hashlib.sha256(token.encode()).hexdigest()[:16]


def deck_acks(token: str) -> str:
    """How far each page load's queue was saved (mount → sequence number)."""
    return f"{deck(token)}:acks"


def deck_outcome(token: str) -> str:
    """The last queue's outcome, for the deck's next drawing."""
    return f"{deck(token)}:outcome"


# --------------------------------------------------------------------------- Picks page
# Bound to the URL (``bind="query-params"``): each key is also the parameter's name.
STRATEGY = "strategy"
NOVELTY = "novelty"
GENRES = "genres"
DECADES = "decades"
MIN_RATINGS = "min_ratings"
PICKS_TABLE = "picks_table"
ROOM_MODEL_CHOICE = "mn_room_model_choice"  # the organiser's model for the room
ROOM_MODEL_SET = "mn_room_model_set"


def pick_card(movie_id: object) -> str:
    return f"mn_pick_{movie_id}"


def watched(movie_id: object) -> str:
    """A pick's "We watched it" button."""
    return f"watched:{movie_id}"


def unwatch(movie_id: object) -> str:
    """ "Undo" beside a film in "Watched together"."""
    return f"unwatch:{movie_id}"


# Tonight's vote (``app.pages._vote``)
VOTE_STARTER = "mn_vote_starter"
VOTE_N = "mn_vote_n"
VOTE_RULE = "mn_vote_rule"
VOTE_OPEN = "mn_vote_open"
VOTE_CLOSE = "mn_vote_close"


def ballot(vote_id: int, movie_id: int) -> str:
    """One film's card on a member's ballot."""
    return f"mn_ballot_{vote_id}_{movie_id}"


def vote_answer(vote_id: int, movie_id: int) -> str:
    return f"vote:{vote_id}:{movie_id}"


def vote_stars(vote_id: int, movie_id: int) -> str:
    """The optional stars after "Seen it" on a ballot."""
    return f"vstars:{vote_id}:{movie_id}"


# --------------------------------------------------------------------------- Explore page
EXPLORE_URL = "mn_explore_url"  # the session's copy of Explore's URL parameters
EXPLORE_MODEL = "mn_explore_model"  # the organiser's look at another trained model
EXPLORE_VIEW = "mn_explore_view"
EXPLORE_BASIS = "mn_explore_basis"
EXPLORE_SEARCH = "mn_explore_search"
EXPLORE_BACK = "mn_explore_back"
EXPLORE_RATE = "mn_explore_rate"  # the film whose "Rate it" was tapped (item index)
EXPLORE_RATING = "mn_explore_rating"  # the panel that rates it
EXPLORE_SHORTLIST = "mn_explore_shortlist"
EXPLORE_VOTE = "mn_explore_vote"
GRAPH_TABLE = "mn_graph_table"
SIMILAR_FILMS = "mn_similar_films"
SIMILAR_MEMBERS = "mn_similar_members"
MAP_X = "mn_map_x"
MAP_Y = "mn_map_y"
MAP_COLOUR = "mn_map_colour"
MAP_MIN = "mn_map_min"
MAP_INTERACT = "mn_map_interact"
FACTOR_MAP = "mn_factor_map"
BIAS_MIN = "mn_bias_min"
BIAS_N = "mn_bias_n"
BIAS_LOVED = "mn_bias_loved"
BIAS_HATED = "mn_bias_hated"
ROOM_VERSUS_CROWD = (
    "mn_room_versus_crowd"  # Loved & hated: what this room loves more than the crowd
)


def explore_stars(movie_id: int) -> str:
    """The rating row of the film whose "Rate it" was tapped."""
    return f"mn_explore_rate:{movie_id}"


# --------------------------------------------------------------------------- Lab page
LAB_PATH = "mn_lab_path"
LAB_EMBEDDED = "mn_lab_embedded"
LAB_MODELS = "mn_lab_models"
LAB_MODEL = "mn_lab_model"  # which model the retrain form is for
LAB_SIGN_OUT = "mn_lab_sign_out"
LAB_JOBS = "mn_lab_jobs"


def lab_hyper(model: str) -> str:
    """A trained model's hyperparameter table."""
    return f"mn_lab_hyper:{model}"


def lab_info(model: str) -> str:
    """A trained model's learned values table."""
    return f"mn_lab_info:{model}"


def lab_param(model: str, param: str) -> str:
    """One hyperparameter's widget in the retrain form."""
    return f"mn_lab_param:{model}:{param}"


def job_cancel(job_id: int) -> str:
    return f"mn_job_cancel:{job_id}"


def job_confirm(job_id: int) -> str:
    return f"mn_job_confirm:{job_id}"


def job_keep(job_id: int) -> str:
    return f"mn_job_keep:{job_id}"


def job_retry(job_id: int) -> str:
    return f"mn_job_retry:{job_id}"
