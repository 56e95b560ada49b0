"""Real browser: a guest on a phone cannot get past the Lab's sign-in (no retrain, no model
controls, nothing of the server's), and the organiser with the token can. Screenshots go to
test-artifacts/. Uses test_browser.py's live server and Chromium (skipped where absent)."""

from __future__ import annotations

import pytest
from test_browser import STEP_MS, browser, server, settle, shot, sync_api  # noqa: F401

pytestmark = [pytest.mark.browser]

TOKEN = "browser-test-organiser-token"


@pytest.fixture(scope="module")
def operator_env():
    """The token the server is started with (the server fixture copies the environment). Module
    scope, like ``server``: pytest sets up wider-scoped fixtures first, so a function-scoped one
    would set the token after this module's server had started without it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOVIENIGHT_OPERATOR_TOKEN", TOKEN)
        yield


def test_a_guest_cannot_reach_retrain_and_the_organiser_can(
    operator_env,
    server,  # noqa: F811
    browser,  # noqa: F811
):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    phone.goto(f"{server}/lab")
    phone.get_by_role("heading", name="Organiser sign-in").wait_for(timeout=STEP_MS)
    settle(phone)
    body = phone.locator("body").inner_text()
    for hidden in ("Retrain", "Training jobs", "Trained models", "fingerprint", "Dataset"):
        assert hidden not in body, hidden
    phone.get_by_label("Organiser token").fill("a guess")
    phone.get_by_role("button", name="Sign in").click()
    phone.get_by_text("That is not the organiser token.").wait_for(timeout=STEP_MS)
    settle(phone)
    assert "Retrain" not in phone.locator("body").inner_text()
    shot(phone, "lab-01-guest-phone")

    desk = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    desk.goto(f"{server}/lab")
    desk.get_by_label("Organiser token").fill(TOKEN)
    desk.get_by_role("button", name="Sign in").click()
    desk.get_by_role("heading", name="Retrain a model").wait_for(timeout=STEP_MS)
    desk.get_by_role("heading", name="Training jobs").wait_for(timeout=STEP_MS)
    settle(desk)
    shot(desk, "lab-02-organiser")
    # the guest's phone is still a guest (the sign-in belongs to one browser session)
    phone.reload()
    phone.get_by_role("heading", name="Organiser sign-in").wait_for(timeout=STEP_MS)
    sync_api.expect(phone.get_by_role("heading", name="Retrain a model")).to_have_count(0)
