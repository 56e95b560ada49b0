"""A light simulated member: one phone's Movie Night page spoken over Streamlit's own websocket
(``/_stcore/stream``, its ``BackMsg``/``ForwardMsg`` protobufs), with no browser.

Why: a headless Chromium page costs about as much CPU as the replica that serves it, so from one
machine browsers alone cannot load a replica. The server cannot tell this client from a phone:
it sends the messages the browser's Streamlit frontend sends, at the same moments.

- The page load: a rerun carrying the member link's query string (``?room=…&member=…``).
- The live parts: every ``auto_rerun`` the server asks for (the Room page's status bar and member
  list every 3 s, the Picks page's vote and list every 1.5 s) is sent back on its interval,
  with every widget state the page holds, as the frontend's timers do; ``stop_auto_rerun`` and a
  page change stop them.
- A rating: the rating deck (``app.widgets.rating_deck``, a components-v2 component) sends its
  *state*, the queue of answers the server has not acknowledged (``deck.js``,
  ``app.services.answer_queue``), as a rerun of the deck's fragment with the component's JSON
  widget value. The server saves the queue and draws the deck again with ``ack`` (page load id,
  highest sequence number saved); that redraw is the acknowledgement the deck reads, and the tap's
  latency ends when it arrives. Unacknowledged answers are sent again after 4 s, as ``deck.js``
  does.
- Picks: a page change (a rerun with the Picks page's script hash, from the status bar's link)
  until the group's bars (``mn-bars``) arrive; one vote on Tonight's ballot (the segmented
  control's value, a rerun of its fragment); back to the Room page as the phone's back button
  does (a history-navigation rerun with the Room page's hash).
- Streamlit's message cache: messages the server marks cacheable are kept and their hashes sent
  with every rerun, aged out as the frontend does, so an element drawn again unchanged comes as
  a reference, as it does for a browser (the deck, its 23 KB script included, changes with
  every answer, so it comes whole).

What it leaves out: the page's HTML and JavaScript files (fetched once per page load, then cached
by a phone) and drawing. Used by ``tools.deploy.capacity`` (``--browsers K`` runs K members in
Chromium, the rest here) and tested against a live server in ``tests/deploy/test_ws_member.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Subprotocol

from tools.deploy.samples import Samples

DECK_COMPONENT = "movienight.rating_deck"  # app.widgets.rating_deck.COMPONENT_NAME
BARS = 'class="mn-bars"'  # app.widgets.member_bars: the group's bars on the Picks page
PICKS_LINK = "See the group's picks"  # the Room page's status bar (app.pages.room)
ROOM_PAGE = "Room"
VOTE_ANSWERS = ("Yes", "Not tonight")  # app.widgets.vote.CHOICE_LABELS, as the wire carries them
#: What a member answers: star values the deck offers, None for "Haven't seen it".
STARS: tuple[float | None, ...] = (1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, None)
RETRY_S = 4.0  # deck.js RETRY_MS: unacknowledged answers are sent again after this
WAIT_S = 60.0  # a tap or the Picks page slower than this counts as an error
LOAD_S = 180.0  # a member's first page load (the catalogue, the model, on busy cores)
DWELL_S = 1.5  # on the Picks page after voting, before going back (as the Chromium member)
FINISHED_OK = (
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
)


class PageError(Exception):
    """The page did not do what the member waited for (a timeout, an exception drawn, a lost
    connection); the text says which."""


@dataclass
class Deck:
    """The rating deck as the page last drew it: its widget id, its fragment and its data."""

    element_id: str
    fragment_id: str
    data: dict[str, Any]

    def acked(self, mount: str) -> int:
        """The highest sequence number the server says it saved for page load ``mount``."""
        ack = self.data.get("ack")
        if isinstance(ack, dict) and ack.get("mount") == mount:
            seq = ack.get("seq")
            return seq if isinstance(seq, int) else 0
        return 0


@dataclass
class _Cached:
    """One message in the cache: the message, the run it was last used in, its fragment."""

    msg: ForwardMsg
    last_run: int
    fragment_id: str


@dataclass
class PageSession:
    """One browser tab's Streamlit session: a websocket, the page's widget states, the live
    parts' timers and the message cache, with what the member needs to see of the page.

    Parameters
    ----------
    link
        The member's own link (``http://host:port/?room=…&member=…``); the websocket goes to the
        same host and port, the query string goes with every rerun.
    """

    link: str
    query: str = ""
    page_hash: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # page name -> script hash
    links: dict[str, str] = field(default_factory=dict)  # page link label -> script hash
    widgets: dict[str, WidgetState] = field(default_factory=dict)
    deck: Deck | None = None
    ballots: dict[str, str] = field(default_factory=dict)  # ballot widget id -> its fragment
    bars: bool = False
    # Runs are numbered as they start (each begins with ``new_session``); ``covered`` maps a
    # fragment to the number of the last finished run that ran it: a whole-page run runs every
    # fragment, and Streamlit folds a fragment's rerun into a whole-page rerun queued beside it
    # (``ScriptRequests``' coalescing), so the fragment's own run may never come.
    runs_started: int = 0
    covered: dict[str, int] = field(default_factory=dict)
    whole_run_finished: int = 0
    problems: list[str] = field(default_factory=list)  # exceptions the page drew
    _ws: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _timers: dict[str, tuple[float, asyncio.Task[None]]] = field(default_factory=dict)
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _cache_runs: int = 0
    _max_cache_age: int = 2
    _run_fragments: tuple[str, ...] = ()
    _run_number: int = 0
    _closed: str | None = None

    def ran(self, fragment_id: str) -> int:
        """The number of the last finished run that ran ``fragment_id`` (0: none yet)."""
        return max(self.covered.get(fragment_id, 0), self.whole_run_finished)

    @property
    def closed(self) -> str | None:
        """Why the connection is gone, or None while it is open."""
        return self._closed

    async def open(self) -> None:
        """Connect and ask for the page, as a browser does once the page's script has loaded."""
        parts = urlsplit(self.link)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.query = parts.query
        self._ws = await connect(
            f"{scheme}://{parts.netloc}/_stcore/stream",
            subprotocols=[Subprotocol("streamlit")],
            max_size=None,  # the title index is ~370 KB when a member searches
            ping_interval=None,  # a browser sends no pings
            open_timeout=LOAD_S,
        )
        self._reader = asyncio.create_task(self._read())
        await self.rerun()

    async def close(self) -> None:
        """Stop the timers and the reader, close the socket."""
        self._stop_timers()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    # ------------------------------------------------------------------ what the page sends

    async def rerun(
        self, fragment_id: str = "", page_hash: str | None = None, *, auto: bool = False,
        history: bool = False,
    ) -> None:  # fmt: skip
        """Send a rerun with every widget state the page holds (the frontend's
        ``sendRerunBackMsg``): of one fragment, of the page, or of another page."""
        if self._ws is None:
            raise PageError("not connected")
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash if page_hash is None else page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.is_history_navigation = history
        state.widget_states.widgets.extend(self.widgets.values())
        state.cached_message_hashes.extend(self._cache)
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = self.link, False, "light"
        try:
            await self._ws.send(msg.SerializeToString())
        except ConnectionClosed as exc:
            raise PageError(f"connection lost: {exc}") from exc

    def set_json(self, element_id: str, value: object) -> None:
        """A components-v2 state value (``setStateValue``: the whole state as JSON)."""
        self.widgets[element_id] = WidgetState(id=element_id, json_value=json.dumps(value))

    def set_strings(self, element_id: str, values: list[str]) -> None:
        """A segmented control's value (the chosen options' labels)."""
        state = WidgetState(id=element_id)
        state.string_array_value.data.extend(values)
        self.widgets[element_id] = state

    async def go_to(self, page_hash: str, *, history: bool = False) -> None:
        """Another page (a page link, or with ``history`` the back button): the timers stop,
        the old page's widgets and elements are forgotten, the new page is asked for."""
        self._stop_timers()
        self.widgets.clear()
        self.deck, self.ballots, self.bars = None, {}, False
        await self.rerun(page_hash=page_hash, history=history)

    # ------------------------------------------------------------------ waiting on the page

    async def wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Until ``ready()`` holds after some message; PageError naming ``what`` after
        ``timeout`` seconds, when the connection is lost, or when the page draws an exception."""

        def done() -> bool:
            return ready() or self._closed is not None or bool(self.problems)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(done), timeout)
            except TimeoutError as exc:
                raise PageError(f"no {what} within {timeout:g} s") from exc
        if self.problems:  # reported once, then the member carries on
            shown, self.problems = self.problems[0], []
            raise PageError(f"the page showed an exception: {shown}")
        if not ready():
            raise PageError(f"connection lost waiting for {what}: {self._closed}")

    # ------------------------------------------------------------------ what the server sends

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                if isinstance(raw, str):
                    continue  # Streamlit sends only binary frames
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._receive(self._resolve(msg))
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed as exc:
            self._closed = str(exc)
        finally:
            if self._closed is None:
                self._closed = "the socket closed"
            async with self._changed:
                self._changed.notify_all()

    def _resolve(self, msg: ForwardMsg) -> ForwardMsg:
        """The frontend's ForwardMsgCache: keep cacheable messages, expand references."""
        if msg.HasField("ref_hash"):
            entry = self._cache.get(msg.ref_hash)
            if entry is None:
                raise PageError(f"the server referred to a message never received: {msg.ref_hash}")
            entry.last_run = self._cache_runs
            full = ForwardMsg()
            full.CopyFrom(entry.msg)
            full.metadata.CopyFrom(msg.metadata)
            return full
        if msg.metadata.cacheable and msg.hash:
            fragment = msg.delta.fragment_id if msg.HasField("delta") else ""
            self._cache[msg.hash] = _Cached(msg, self._cache_runs, fragment)
        return msg

    def _age_cache(self, fragments: tuple[str, ...]) -> None:
        """After a finished run, drop messages unused for more than the server's
        ``maxCachedMessageAge`` runs; a fragment run ages only that fragment's messages."""
        self._cache_runs += 1
        for key, entry in list(self._cache.items()):
            if fragments and entry.fragment_id not in fragments:
                continue
            if self._cache_runs - entry.last_run > self._max_cache_age:
                del self._cache[key]

    def _receive(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self._max_cache_age = msg.new_session.config.max_cached_message_age or 2
            self._run_fragments = tuple(msg.metadata.run.fragment_ids)
            self.runs_started += 1
            self._run_number = self.runs_started
            if not self._run_fragments:  # a whole run: the frontend drops every timer
                self._stop_timers()
        elif kind == "navigation":
            nav = msg.navigation
            self.pages = {p.page_name: p.page_script_hash for p in nav.app_pages}
            self.page_hash = nav.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fragment)
        elif kind == "script_finished":
            if msg.script_finished in FINISHED_OK:
                self._age_cache(self._run_fragments)
                for fragment in self._run_fragments:
                    self.covered[fragment] = self._run_number
                if not self._run_fragments:
                    self.whole_run_finished = self._run_number
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, msg.delta.fragment_id)

    def _element(self, element: Any, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "bidi_component" and element.bidi_component.component_name == DECK_COMPONENT:
            component = element.bidi_component
            text = component.json or component.mixed.json
            data = json.loads(text) if text else {}
            self.deck = Deck(component.id, fragment_id, data if isinstance(data, dict) else {})
        elif kind == "html" and BARS in element.html.body:
            self.bars = True
        elif kind == "page_link":
            self.links[element.page_link.label] = element.page_link.page_script_hash
        elif kind == "button_group":
            options = [o.content for o in element.button_group.options]
            if all(answer in options for answer in VOTE_ANSWERS):
                self.ballots[element.button_group.id] = fragment_id
        elif kind == "exception":
            self.problems.append(f"{element.exception.type}: {element.exception.message}")

    # ------------------------------------------------------------------ the live parts' timers

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or interval <= 0:
            return
        running = self._timers.get(fragment_id)
        if running is not None and running[0] == interval:
            return
        self._stop_timer(fragment_id)
        self._timers[fragment_id] = (
            interval,
            asyncio.create_task(self._tick(fragment_id, interval)),
        )

    async def _tick(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.rerun(fragment_id, auto=True)
            except PageError:
                return

    def _stop_timer(self, fragment_id: str) -> None:
        running = self._timers.pop(fragment_id, None)
        if running is not None:
            running[1].cancel()

    def _stop_timers(self) -> None:
        for fragment_id in list(self._timers):
            self._stop_timer(fragment_id)


@dataclass
class LightMember:
    """One member at a person's pace: taps a rating every ``pace`` seconds (seeded), opens Picks
    every ``picks_every``-th turn (votes once there, goes back), and records what the server
    acknowledged.

    Parameters
    ----------
    link
        The member's own link.
    samples
        Where tap and Picks latencies and errors go.
    seed
        Seeds the pace, the stars and the votes, so a run can be repeated.
    pace
        Seconds between turns, drawn uniformly (a person's 2–5 s by default).
    picks_every
        Every this-many-th turn opens Picks instead of tapping (0: never).
    turns
        Stop after this many turns (0: only when told to stop).

    Attributes
    ----------
    answers
        movieId -> stars (None: "haven't seen it") of every answer given, latest per film.
    votes
        movieId -> the ballot answer given ("Yes" / "Not tonight").
    """

    link: str
    samples: Samples
    seed: int = 0
    pace: tuple[float, float] = (2.0, 5.0)
    picks_every: int = 6
    turns: int = 0
    answers: dict[int, float | None] = field(default_factory=dict)
    votes: dict[int, str] = field(default_factory=dict)
    session: PageSession | None = None
    mount: str = field(default_factory=lambda: str(uuid.uuid4()))
    _seq: int = 0
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _attempt: int = 0
    _last_sent: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Load the page, then take turns until ``stop`` is set (or ``turns`` are done, and
        every answer is acknowledged); errors are counted in ``samples`` (a page that never
        loads ends the member, as in Chromium)."""
        rng = random.Random(self.seed)
        session = self.session = PageSession(self.link)
        retry: asyncio.Task[None] | None = None
        try:
            try:
                await session.open()
                await session.wait(lambda: session.deck is not None, LOAD_S, "rating deck")
            except (PageError, OSError, TimeoutError, WebSocketException) as exc:
                self.samples.errors += 1
                print(f"light member {self.seed}: page did not load: {exc}", file=sys.stderr)
                return
            self.samples.ready += 1
            retry = asyncio.create_task(self._resend(session))
            turn = 0
            while not stop.is_set() and not (self.turns and turn >= self.turns):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rng.uniform(*self.pace))
                if stop.is_set():
                    break
                turn += 1
                try:
                    if self.picks_every and turn % self.picks_every == 0:
                        self.samples.picks.append(await self.picks(session, rng))
                    else:
                        self.samples.tap.append(await self.tap(session, rng))
                except PageError as exc:
                    self.samples.errors += 1
                    print(f"light member {self.seed}: {exc}", file=sys.stderr)
                    if session.closed is not None:  # the socket is gone: this member stops
                        return
            if self.turns and turn >= self.turns:  # done by itself: every answer saved first
                try:
                    await self.drain()
                except PageError as exc:
                    self.samples.errors += 1
                    print(f"light member {self.seed}: {exc}", file=sys.stderr)
        finally:
            if retry is not None:
                retry.cancel()
            await session.close()

    async def tap(self, session: PageSession, rng: random.Random) -> float:
        """Answer the card on screen; seconds until the server's acknowledgement arrives."""
        deck = session.deck
        if deck is None:
            raise PageError("no rating deck on the page")
        movie = self._next_card(deck)
        if movie is None:
            raise PageError("the deck has no card left to answer")
        stars = rng.choice(STARS)
        self._seq += 1
        seq = self._seq
        self._pending.append({"seq": seq, "movie": movie, "stars": stars})
        self.answers[movie] = stars
        started = time.perf_counter()
        await self._send_queue(session)
        await session.wait(lambda: self._acked(session) >= seq, WAIT_S, "acknowledgement")
        return time.perf_counter() - started

    async def picks(self, session: PageSession, rng: random.Random) -> float:
        """Open Picks from the status bar's link; seconds until the group's bars arrive. Then
        answer one film of Tonight's vote and go back to the Room page."""
        target = session.links.get(PICKS_LINK) or session.pages.get("Picks")
        room = session.page_hash
        if not target:
            raise PageError("no link to the Picks page")
        started = time.perf_counter()
        await session.go_to(target)
        await session.wait(lambda: session.bars, WAIT_S, "group's bars")
        took = time.perf_counter() - started
        if session.ballots:
            await self._vote(session, rng)
        await asyncio.sleep(DWELL_S)
        await session.go_to(session.pages.get(ROOM_PAGE, room), history=True)
        await session.wait(lambda: session.deck is not None, WAIT_S, "rating deck")
        return took

    async def drain(self, timeout: float = WAIT_S) -> None:
        """Until the server has acknowledged every answer given (for checks after a run)."""
        session = self.session
        if session is None or not self._pending:
            return
        await self._send_queue(session)
        await session.wait(lambda: not self._unacked(session), timeout, "acknowledgement")

    # ------------------------------------------------------------------ the deck's protocol

    def _next_card(self, deck: Deck) -> int | None:
        waiting = {a["movie"] for a in self._pending}
        for card in deck.data.get("cards") or []:
            movie = card.get("id") if isinstance(card, dict) else None
            if isinstance(movie, int) and movie not in waiting and movie not in self.answers:
                return movie
        return None

    def _acked(self, session: PageSession) -> int:
        """deck.js ``receive``: answers at or below the acknowledged number are forgotten."""
        acked = session.deck.acked(self.mount) if session.deck is not None else 0
        before = len(self._pending)
        self._pending = [a for a in self._pending if a["seq"] > acked]
        if len(self._pending) != before:
            self._attempt = 0
        return acked

    def _unacked(self, session: PageSession) -> bool:
        self._acked(session)
        return bool(self._pending)

    async def _send_queue(self, session: PageSession) -> None:
        """deck.js ``send``: the whole unacknowledged queue as the component's state."""
        deck = session.deck
        if deck is None:
            raise PageError("no rating deck on the page")
        self._last_sent = time.monotonic()
        state = {
            "mount": self.mount,
            "answers": list(self._pending),
            "attempt": self._attempt,
            "index": None,
            "want_index": False,
            "query": "",
        }
        session.set_json(deck.element_id, {"queue": state})
        await session.rerun(deck.fragment_id)

    async def _resend(self, session: PageSession) -> None:
        """deck.js ``tick``: unacknowledged answers go again after ``RETRY_S``."""
        while True:
            await asyncio.sleep(1.0)
            if session.deck is None or not self._unacked(session):
                continue
            if time.monotonic() - self._last_sent > RETRY_S:
                self._attempt += 1
                with contextlib.suppress(PageError):
                    await self._send_queue(session)

    async def _vote(self, session: PageSession, rng: random.Random) -> None:
        """One ballot answer; waits for the ballot's run it starts to finish (its callback
        saved the answer before the run drew the ballot again)."""
        element_id = rng.choice(sorted(session.ballots))
        fragment_id = session.ballots[element_id]
        answer = rng.choice(VOTE_ANSWERS)
        # The ballot's key ends the widget id: ``vote:<vote id>:<movieId>`` (app.session_keys).
        movie = int(element_id.rsplit(":", 1)[-1])
        session.set_strings(element_id, [answer])
        before = session.runs_started  # only a run started after this request can save it
        await session.rerun(fragment_id)
        self.votes[movie] = answer
        await session.wait(lambda: session.ran(fragment_id) > before, WAIT_S, "vote saved")
