"""Each room's model: which fitted model its Picks and Explore pages use.

A setting only the operator changes (the app checks the credential; the store only stores). A
room without a row uses the app's default model. Kept in its own table, so rooms made before it
existed need no migration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from app.store.schema import UTCDateTime, metadata

MODEL_NAME_MAX = 64

room_models = Table(
    "room_models",
    metadata,
    Column("room_id", Integer, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(MODEL_NAME_MAX), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


def read(conn: Connection, room_id: int) -> str | None:
    """The room's model, or None when it uses the app's default."""
    return conn.execute(
        select(room_models.c.model).where(room_models.c.room_id == room_id)
    ).scalar()


def write(conn: Connection, room_id: int, model: str | None) -> None:
    """Set the room's model (None: back to the app's default)."""
    if model is None:
        conn.execute(delete(room_models).where(room_models.c.room_id == room_id))
        return
    now = datetime.now(UTC)
    changed = conn.execute(
        update(room_models)
        .where(room_models.c.room_id == room_id)
        .values(model=model, updated_at=now)
    )
    if changed.rowcount == 0:
        conn.execute(insert(room_models).values(room_id=room_id, model=model, updated_at=now))
