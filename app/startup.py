"""``python -m app.startup``: what ``./scripts/start`` does before the app serves.

1. The operator's credential: ``MOVIENIGHT_OPERATOR_TOKEN`` if set, else a random token in
   ``data/operator-token`` (0600), created and printed once, the first time.
2. The default model (``hybrid`` unless ``MOVIENIGHT_DEFAULT_MODEL`` says otherwise) for the
   embedded films: instant when it is saved and intact; otherwise trained here with a terminal
   progress bar, through the same training job the app would run (so a replica already training
   it is followed, not duplicated), checkpointed, so Ctrl-C and a second start resume it.

After this, the first member of the first room waits for no training.
"""

from __future__ import annotations

import argparse
import sys
import time

from app.jobs import ensure
from app.jobs.spec import JobSpec, default_model_name, saved_model_intact
from app.operator import TOKEN_ENV, ensure_token_file, expected_token
from app.store import Store
from engine.data import load_embedded
from engine.data.paths import data_dir
from engine.progress import tqdm_progress


def _operator() -> None:
    where, created = ensure_token_file()
    if created:
        print(
            f"Organiser token (for the Lab page; also saved in {where}, readable by you only):\n"
            f"    {expected_token()}\n"
            f"Set {TOKEN_ENV} to use your own instead."
        )
    elif where == TOKEN_ENV:
        print(f"Organiser token: from {TOKEN_ENV}.")
    else:
        print(f"Organiser token: in {where}.")


def _model(name: str | None) -> int:
    started = time.perf_counter()
    catalogue = load_embedded(data_dir() / "datasets")
    name = name or default_model_name()
    spec = JobSpec.make(name, catalogue, "serve")
    if saved_model_intact(spec.dataset, name):
        print(f"The {name} model is ready ({time.perf_counter() - started:.1f} s).")
        return 0
    print(f"Training the {name} model once, before the app serves (it is saved under data/).")
    progress, close = tqdm_progress(f"training {name}")
    store = Store()
    try:
        job = ensure(store, spec, echo=progress, log=lambda m: print(m, file=sys.stderr))
    except KeyboardInterrupt:
        close()
        print("Interrupted; ./scripts/start resumes the training where it stopped.")
        return 130
    finally:
        close()
        store.dispose()
    if job.state != "done":
        print(f"Training {name} ended {job.state}: {job.error}", file=sys.stderr)
        return 1
    print(f"The {name} model is ready ({time.perf_counter() - started:.1f} s).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.startup")
    parser.add_argument("--model", help="the model to make ready (default: the app's default)")
    args = parser.parse_args(argv)
    _operator()
    return _model(args.model)


if __name__ == "__main__":
    sys.exit(main())
