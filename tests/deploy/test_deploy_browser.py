"""The replica-kill drill in real Chromium: members rating and voting in their own browsers
through HAProxy; the replica serving most of them is SIGKILLed mid-evening, one of them tapping
as it dies. Each page reconnects through the proxy to the other replica and carries on from the
member's own link: no second join, earlier answers and vote answers intact (shown checked), and
the tap in flight lands exactly once: the rating deck keeps every answer the server has not
acknowledged and sends it again after the reconnect. Every answer and vote in the database is
then compared with what the members did.

Run: ``MOVIENIGHT_DEPLOY_DRILLS=all .venv/bin/python -m pytest tests/deploy/test_deploy_browser.py``
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest

from app.store import Store

CHROMIUM = Path("/usr/bin/chromium")
STEP_MS = 90_000  # one Streamlit rerun on 2 shared cores, first page loads included
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
BALLOT = '[class*="st-key-mn_ballot"]'
LABELS = {"yes": "Yes", "rewatch": "Seen it, happy to rewatch", "skip": "Seen it, skip", "no": "Not tonight"}  # fmt: skip

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.deploy_full,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


def replica_of(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "MNREPLICA")


STARS = {"4 stars": 4.0, "2.5 stars": 2.5, "3 stars": 3.0, "1 star": 1.0, "5 stars": 5.0}
CARD = ".deck .card:visible"


def rate_first_card(page, label: str) -> int:
    """Tap ``label`` on the deck's card; returns the film's movieId once the next film took its
    place (in the browser: the deck does not wait for the server)."""
    card = page.locator(CARD).last
    movie = card.get_attribute("data-movie")
    page.locator(".deck .stars:visible").last.get_by_role("radio", name=label, exact=True).click()
    sync_api.expect(card).not_to_have_attribute("data-movie", movie, timeout=STEP_MS)
    return int(movie)


def wait_saved(page) -> None:
    """Until every deck on the page says the server acknowledged all its answers."""
    page.wait_for_function(
        """() => { const s = [...document.querySelectorAll('*')].filter(e => e.shadowRoot)
          .flatMap(e => [...e.shadowRoot.querySelectorAll('.deck .sync')]);
          return s.length > 0 && s.every(x => x.dataset.pending === '0'); }""",
        timeout=STEP_MS,
    )


def answer_ballot(page, films: list[int], choices: list[str], saved) -> None:
    """One answer per film at a person's pace: each waits until it is saved (``saved()``, the
    member's answers as the database has them, shows it) before the next tap; the page shows a
    tap at once, before the server has run its callback, so the page alone cannot tell."""
    cards = page.locator(BALLOT)
    sync_api.expect(cards).to_have_count(len(choices), timeout=STEP_MS)
    for i, choice in enumerate(choices):
        radio = cards.nth(i).get_by_role("radio", name=LABELS[choice], exact=True)
        radio.click()
        sync_api.expect(radio).to_be_checked(timeout=STEP_MS)
        deadline = time.monotonic() + STEP_MS / 1000
        while saved().get(films[i]) != choice:
            assert time.monotonic() < deadline, f"answer {i} was never saved"
            page.wait_for_timeout(200)


def open_ballot(page) -> None:
    page.get_by_text("Tonight's vote is open: vote now").first.click(timeout=STEP_MS)
    page.locator(BALLOT).first.wait_for(timeout=STEP_MS)


def test_a_replica_killed_mid_evening_loses_no_member_answer_or_vote(stack):
    store = Store(stack.db_url)
    hosted = store.tonight.create_hosted_room("replica drill")
    members = [store.add_member(hosted.code, name) for name in ("Ana", "Ben", "Cy")]
    films = [318, 356, 296]
    vote = store.tonight.open_vote(hosted.code, hosted.host_token, films)
    did: dict[str, dict[int, float]] = {m.token: {} for m in members}  # token -> film -> stars
    voted: dict[str, list[str]] = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pages = []
            for m in members:
                context = browser.new_context(**LAPTOP)
                page = context.new_page()
                page.goto(f"{stack.url}/?room={hosted.code}&member={m.token}")
                page.locator(CARD).last.wait_for(timeout=STEP_MS)
                pages.append((context, page, m))
            for _context, page, m in pages:  # two answers each before the crash
                for stars in ("4 stars", "2.5 stars"):
                    did[m.token][rate_first_card(page, stars)] = STARS[stars]
                wait_saved(page)
            _c, ana_page, ana = pages[0]
            open_ballot(ana_page)
            voted[ana.token] = ["yes", "no", "rewatch"]
            answer_ballot(
                ana_page,
                films,
                voted[ana.token],
                lambda: store.tonight.my_votes(ana.token, vote.id),
            )

            on = collections.Counter(replica_of(c) for c, _p, _m in pages)
            dead = on.most_common(1)[0][0]
            victims = [(c, pg, m) for c, pg, m in pages if replica_of(c) == dead]
            # A tap in flight as the replica dies (the victim is on the Room page).
            room_victims = [v for v in victims if v[2].token != ana.token] or victims
            _vc, vpage, vm = room_victims[0]
            if vm.token == ana.token:
                vpage.goto(f"{stack.url}/?room={hosted.code}&member={vm.token}")
                vpage.locator(CARD).last.wait_for(timeout=STEP_MS)
            in_flight = rate_first_card(vpage, "5 stars")  # shown answered at once...
            stack.kill_replica(int(dead[1:]) - 1)  # ...and the server dies before it answers
            did[vm.token][in_flight] = 5.0

            deadline = time.monotonic() + 120
            for context, page, _m in victims:  # every page of the dead replica moves over
                while replica_of(context) == dead:
                    assert time.monotonic() < deadline, "a page did not reconnect"
                    page.wait_for_timeout(500)
                page.locator(CARD + ", " + BALLOT).first.wait_for(timeout=STEP_MS)
            for _context, page, m in pages:  # carry on: two more answers, then the vote
                assert page.url.endswith(f"member={m.token}") or f"member={m.token}" in page.url
                if page.locator(BALLOT).count():
                    page.goto(f"{stack.url}/?room={hosted.code}&member={m.token}")
                page.locator(CARD).last.wait_for(timeout=STEP_MS)
                for stars in ("3 stars", "1 star"):
                    did[m.token][rate_first_card(page, stars)] = STARS[stars]
                wait_saved(page)
            # Ana's vote survived the crash: her answers are shown checked on the other replica.
            open_ballot(ana_page)
            cards = ana_page.locator(BALLOT)
            for i, choice in enumerate(voted[ana.token]):
                radio = cards.nth(i).get_by_role("radio", name=LABELS[choice], exact=True)
                sync_api.expect(radio).to_be_checked(timeout=STEP_MS)
            voted[ana.token][1] = "yes"  # she changes her mind on the second film
            mine = lambda t: lambda: store.tonight.my_votes(t, vote.id)  # noqa: E731
            answer_ballot(ana_page, films, voted[ana.token], mine(ana.token))
            for _c, page, m in pages[1:]:
                open_ballot(page)
                voted[m.token] = ["skip", "yes", "yes"]
                answer_ballot(page, films, voted[m.token], mine(m.token))
        finally:
            browser.close()

    assert len(store.members(hosted.code)) == 3  # nobody had to join again
    for m in members:
        assert store.answers(m.token) == did[m.token], m.name  # the tap in flight once, too
        assert store.tonight.my_votes(m.token, vote.id) == dict(
            zip(films, voted[m.token], strict=True)
        )
    tally = store.tonight.tally(hosted.code, vote)
    assert tally.voted == 3
    assert tally.counts[356]["yes"] == 3 and tally.counts[318]["skip"] == 2
    store.dispose()
