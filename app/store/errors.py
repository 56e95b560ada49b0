"""What can go wrong in the store, as exceptions a page can show as they are.

Every message says what happened and what the person can do about it; the subclasses let a
caller react to one case (a taken name, a locked database) without parsing text.

The database's own failures (``DatabaseProblem``) have two texts, because the page that shows
them is a guest's: ``str(exc)`` says in plain words what happened and who can fix it, with no
server path, URL or driver message; ``exc.detail`` is the operator's (where the database is,
what the driver said, what to do), written to the server's log when the error is made.
"""

from __future__ import annotations

import logging

LOG = logging.getLogger("movienight.store")


class StoreError(Exception):
    """Something a person can act on; the message says what happened and what to do."""


class RoomNotFound(StoreError):
    """No room has this code (mistyped, truncated link, or a room from another database)."""


class MemberNotFound(StoreError):
    """No member has this token, or the token belongs to another room."""


class InvalidName(StoreError):
    """A room or member name that is empty, too long or contains control characters."""


class NameTaken(StoreError):
    """Another member of the room already uses this name (case-insensitive)."""


class InvalidRating(StoreError):
    """A rating that is not 0.5-5 stars in half steps (or None for "haven't seen it")."""


class UnknownMovie(StoreError):
    """A movieId that is not a positive integer, or not in the catalogue the store checks."""


class NotHost(StoreError):
    """A host action without the room's host link (a guest, or a room made before hosts)."""


class VoteUnavailable(StoreError):
    """No open vote to answer or close, or one already open when opening another."""


class InvalidChoice(StoreError):
    """A vote answer that is not one of the four choices, or a film not on the shortlist."""


class JobNotFound(StoreError):
    """No training job has this id (the database was reset, or the id is wrong)."""


class DatabaseProblem(StoreError):
    """The database itself failed. ``str()`` is the class's ``for_guests`` text; ``detail`` is
    the operator's text, logged once here so the organiser finds it in the server's output."""

    for_guests = "The app's database is not working right now. Please tell the organiser."

    def __init__(self, detail: str) -> None:
        super().__init__(self.for_guests)
        self.detail = detail
        LOG.warning("%s: %s", type(self).__name__, detail)


class DatabaseReadOnly(DatabaseProblem):
    """The database file (or its folder) cannot be written."""

    for_guests = (
        "The app's database cannot be written to right now, so nothing can be saved. Please "
        "tell the organiser (the details are in the server's log)."
    )


class DatabaseLocked(DatabaseProblem):
    """Another program held the database longer than the busy timeout."""

    for_guests = "The app's database is busy right now. Try again in a moment."


class DatabaseDamaged(DatabaseProblem):
    """The database file is not a database or is corrupted."""

    for_guests = (
        "The app's database is damaged, so rooms cannot be opened. Please tell the organiser "
        "(the details are in the server's log)."
    )


class DatabaseUnavailable(DatabaseProblem):
    """The database cannot be opened or reached (bad URL, server down, missing driver)."""

    for_guests = (
        "The app's database cannot be reached right now. Try again in a moment; if it keeps "
        "happening, tell the organiser (the details are in the server's log)."
    )


class DatabaseReconnecting(DatabaseUnavailable):
    """The database server went away mid-evening (restarted, failed over, network blip): the
    connection pool reconnects on the next request by itself, so the person only waits."""

    for_guests = (
        "Reconnecting to the app's database… Everything you saw saved is kept; if your last "
        "tap did not stick, tap it again in a moment."
    )


# What PostgreSQL's driver says when the server is gone or coming back (lower case): the
# server shutting down or restarting, or nothing listening on its port yet.
RECONNECTING_SIGNS = (
    "terminating connection",
    "server closed the connection",
    "the database system is",
    "connection refused",
    "connection failed",
    "could not connect",
    "consuming input failed",
)
