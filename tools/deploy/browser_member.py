"""A simulated member in headless Chromium: the member's own link in a phone-sized page, a rating
every 2–5 s, Picks every sixth turn.

The same evening as the light client (``tools.deploy.ws_member``) and the same two figures, so the
two can be compared on one load: *tap*, from the tap on the rating deck to the page showing the
server's acknowledgement (the deck's pending count back to 0; the next card itself shows in the
same frame as the tap), timed inside the page (``tools.browser_waits.TAP_JS``); *picks*, from the
click on the status bar's "See the group's picks" to the group's bars on screen, timed inside the
page too. On Picks it answers one film of Tonight's vote, stays ``DWELL_S`` and goes back with
the browser's back button. A real browser costs about as much CPU as the replica serving it,
which is why most members of a capacity run are light clients and a slice are these.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from typing import Any

from tools.browser_waits import TAP_JS
from tools.deploy.samples import Samples
from tools.deploy.ws_member import DWELL_S, LOAD_S, PICKS_LINK, STARS, VOTE_ANSWERS, WAIT_S

CARD = ".deck .card:visible"
BALLOT = '[class*="st-key-mn_ballot"]'
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# In the page: click the Picks link; resolve with ms until the group's bars are on screen.
PICKS_JS = """(label) => new Promise((resolve) => {
  const link = [...document.querySelectorAll('a')].find(a => a.textContent.includes(label));
  if (!link) { resolve(-1); return; }
  const t0 = performance.now();
  const obs = new MutationObserver(() => {
    if (document.querySelector('.mn-bars')) { obs.disconnect(); resolve(performance.now() - t0); } });
  obs.observe(document.body, {subtree: true, childList: true});
  link.click();
  setTimeout(() => { obs.disconnect(); resolve(-1); }, %d);
})""" % int(WAIT_S * 1000)  # noqa: UP031  a JS template: braces everywhere


def tap_label(stars: float | None) -> str:
    """The deck's accessible name for an answer (``spokenStars`` in deck.js), ``TAP_JS``'s
    ``unseen`` for "Haven't seen it"."""
    if stars is None:
        return "unseen"
    return "1 star" if stars == 1 else f"{stars:g} stars"


async def tap(page: Any, rng: random.Random) -> float:
    """One rating tap; seconds from the tap to the server's acknowledgement shown."""
    out = await page.evaluate(TAP_JS, tap_label(rng.choice(STARS)))
    if out["card"] < 0 or out["saved"] < 0:
        raise TimeoutError(f"a rating tap was not shown or not saved: {out}")
    return float(out["saved"]) / 1000


async def picks(page: Any, rng: random.Random) -> float:
    """Open Picks; seconds to the group's bars. Then one vote answer and back to the Room."""
    ms = float(await page.evaluate(PICKS_JS, PICKS_LINK))
    if ms < 0:
        raise TimeoutError("the group's bars did not show")
    ballot = page.locator(BALLOT)
    if await ballot.count():
        card = ballot.nth(rng.randrange(await ballot.count()))
        answer = rng.choice(VOTE_ANSWERS)
        await card.get_by_role("radio", name=answer, exact=True).click(timeout=WAIT_S * 1000)
    await page.wait_for_timeout(DWELL_S * 1000)
    await page.go_back()
    await page.locator(CARD).last.wait_for(timeout=WAIT_S * 1000)
    return ms / 1000


async def browser_member(
    browser: Any, link: str, samples: Samples, stop: asyncio.Event, seed: int,
    picks_every: int = 6,
) -> None:  # fmt: skip
    """One member in its own browser context until ``stop`` is set; errors are counted in
    ``samples`` (a page that never loads ends the member; a failed turn reloads the link)."""
    rng = random.Random(seed)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        try:
            await page.goto(link, timeout=LOAD_S * 1000)
            await page.locator(CARD).last.wait_for(timeout=LOAD_S * 1000)
        except Exception as exc:  # the page never loaded: counted, and this member stops
            samples.errors += 1
            print(f"browser member {seed}: page did not load: {exc}", file=sys.stderr)
            return
        samples.ready += 1
        turn = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(2.0, 5.0))
            if stop.is_set():
                break
            turn += 1
            try:
                if picks_every and turn % picks_every == 0:
                    samples.picks.append(await picks(page, rng))
                else:
                    samples.tap.append(await tap(page, rng))
            except Exception as exc:  # a timeout is a failed turn: counted, the member goes on
                samples.errors += 1
                print(f"browser member {seed}: {str(exc).splitlines()[0]}", file=sys.stderr)
                with contextlib.suppress(Exception):
                    await page.goto(link, timeout=LOAD_S * 1000)
    finally:
        await context.close()
