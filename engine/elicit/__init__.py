"""Which films to ask a new member about next.

``ask.next_films`` is the way in (``DEFAULT_ELICITATION`` unless told otherwise); the strategies
and what each scores films by are in ``strategies`` (its docstring lists them), what a member
has answered and the one way films are picked in ``answers``, IGCN's clusters in ``igcn``, the
member's own chance of having seen a film in ``watch``, and how close a member is to picks of
their own in ``personal``.

All strategies are deterministic for the same answers, never return a film already answered
(rated or "haven't seen"), and return fewer than ``n`` films only when the catalogue is exhausted.
"""

from engine.elicit.answers import ElicitModel
from engine.elicit.ask import DEFAULT_ELICITATION, elicitor, next_films
from engine.elicit.strategies import LABELS, STRATEGIES, entropy0
from engine.group.novelty import seen_probability

__all__ = [
    "DEFAULT_ELICITATION",
    "LABELS",
    "STRATEGIES",
    "ElicitModel",
    "elicitor",
    "entropy0",
    "next_films",
    "seen_probability",
]
