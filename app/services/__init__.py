"""The one place the app calls the engine: catalogue, models, rooms, insights and the Lab's work.

Pages never touch model math or SQL; they import an area and call it (``from app.services
import rooms`` then ``rooms.room_picks(...)``), so a call says where it goes. Services cache
what is expensive (the catalogue, fitted models, the store) once per process and share it across
sessions. They return data and never draw: a page that wants progress passes a callback and
draws the bar itself, and messages for people (a dataset that went away, a model that had to be
trained) come back as values for the page to show.

The areas:

- ``catalogue``: the films and the lookups pages need, and the dataset this session uses.
- ``families``: the model families by name (the default first), their class, their plain name.
- ``served``: the fitted models loaded from disk, one shared copy per process, swapped whole.
- ``models``: a model for a request: served when ready, else its training job asked for
  (training is a job, ``app.jobs``; a request never trains), and its progress.
- ``model_choice``: each room's model (an operator setting) and the one Explore draws.
- ``threads``: the serving process's torch threads.
- ``store``: the shared store; ``rooms``: what the engine does for a room; ``room_input``: the
  one way from a room in the store to the engine's input.
- ``deck`` and ``answer_queue``: the rating deck's cards, title index and queue of answers.
- ``insights``: the Explore views; ``search``: fuzzy title search; ``tonight``: what Tonight's
  vote decided; ``lab``: manifests, retrain jobs and the operator's decisions.

The few names below are for scripts that drive the app from outside (``tools/bench.py``);
the app itself imports the areas.
"""

from app.jobs.spec import DEFAULT_MODEL_ENV
from app.services.catalogue import get_catalogue
from app.services.families import default_model_name
from app.services.rooms import group_picks
from app.services.store import get_store
from app.services.threads import use_serving_threads

__all__ = [
    "DEFAULT_MODEL_ENV",
    "default_model_name",
    "get_catalogue",
    "get_store",
    "group_picks",
    "use_serving_threads",
]
