"""What can go wrong in the store, as exceptions a page can show as they are.

Every message says what happened and what the person can do about it; the subclasses let a
caller react to one case (a taken name, a locked database) without parsing text.
"""

from __future__ import annotations


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


class DatabaseReadOnly(StoreError):
    """The database file (or its folder) cannot be written."""


class DatabaseLocked(StoreError):
    """Another program held the database longer than the busy timeout."""


class DatabaseDamaged(StoreError):
    """The database file is not a database or is corrupted."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened or reached (bad URL, server down, missing driver)."""
