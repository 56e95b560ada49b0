"""The store on PostgreSQL: a throwaway cluster started by the test itself, stopped at the end.

Skipped with the reason when no server binary (initdb, pg_ctl) or no driver (psycopg) is found.
``MOVIENIGHT_TEST_PG_URL`` points the tests at an existing server instead (its tables are used
as they are; give it an empty database).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store_concurrency import assert_converged, run_processes, run_threads

from app.store import (
    AnswerCount,
    InvalidName,
    InvalidRating,
    MemberNotFound,
    NameTaken,
    RoomNotFound,
    Store,
)
from tools.app_server import free_port
from tools.deploy.postgres import pg_bin

pytestmark = pytest.mark.postgres


def _pg_bin() -> Path | None:
    """The PostgreSQL server binaries the deployment uses (``tools.deploy.postgres``), or None."""
    try:
        return pg_bin()
    except FileNotFoundError:
        return None


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the 'postgres' system user there."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and no runuser to start PostgreSQL as another user")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the server")
    return [runuser, "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="PostgreSQL driver psycopg is not installed")
    if os.environ.get("MOVIENIGHT_TEST_PG_URL"):
        yield os.environ["MOVIENIGHT_TEST_PG_URL"]
        return
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        pytest.skip("no PostgreSQL server binary (initdb/pg_ctl) found")
    # /tmp rather than pytest's tmp_path: the server user must be able to reach the folder.
    root = Path(tempfile.mkdtemp(prefix="movienight-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "movienight",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            **run,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-o",
                    options,
                    "start",
                ]
            ),
            **run,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL cluster: {exc.stderr or exc.stdout}")
    try:
        yield f"postgresql+psycopg://movienight@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg(pg_url) -> Iterator[Store]:
    store = Store(pg_url)
    yield store
    store.dispose()


def test_full_round_trip_on_postgres(pg):
    room = pg.create_room("pg night")
    assert pg.room(room.code) == room
    ann = pg.add_member(room.code, " <b>Ann</b> ")
    bob = pg.add_member(room.code, "Bob")
    assert ann.name == "<b>Ann</b>"
    with pytest.raises(NameTaken):
        pg.add_member(room.code, "BOB")
    with pytest.raises(InvalidName):
        pg.add_member(room.code, "x" * 10_000)
    pg.set_rating(ann.token, 1, 4.0)
    pg.set_rating(ann.token, 1, 2.5)  # upsert
    pg.set_rating(ann.token, 2, None)
    pg.set_rating(bob.token, 3, 5.0)
    with pytest.raises(InvalidRating):
        pg.set_rating(bob.token, 3, 4.2)
    assert pg.answers(ann.token) == {1: 2.5, 2: None}
    assert pg.answer_counts(room.code) == {
        "<b>Ann</b>": AnswerCount(1, 1),
        "Bob": AnswerCount(1, 0),
    }
    frame = pg.room_answers(room.code)
    assert len(frame) == 3 and frame["rating"].isna().sum() == 1
    assert str(frame["updated_at"].dt.tz) == "UTC"
    pg.mark_watched(room.code, 7)
    pg.mark_watched(room.code, 7)
    assert pg.watched(room.code) == {7}
    other = pg.create_room("other")
    eve = pg.add_member(other.code, "Eve")
    with pytest.raises(MemberNotFound):
        pg.member_in_room(room.code, eve.token)
    with pytest.raises(RoomNotFound):
        pg.room("no-such-room")
    with pytest.raises(MemberNotFound):
        pg.member("x'; DROP TABLE members; --")
    assert pg.member(ann.token).room_code == room.code


def test_threads_and_processes_rating_at_once_lose_nothing_on_postgres(pg, pg_url):
    room = pg.create_room("pg concurrency")
    result: dict[str, dict] = {}
    worker = threading.Thread(target=lambda: result.update(run_threads(pg, room.code, n=4)))
    worker.start()
    result_p = run_processes(pg_url, room.code, n=3)
    worker.join(timeout=180)
    assert not worker.is_alive()
    assert len(result) == 4 and len(result_p) == 3
    assert_converged(pg, room.code, {**result, **result_p})


def test_same_name_race_on_postgres(pg):
    room = pg.create_room("pg race")
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def join() -> None:
        barrier.wait(timeout=60)
        try:
            pg.add_member(room.code, "Sam")
            outcomes.append("joined")
        except NameTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=join) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["joined"] + ["taken"] * 4
