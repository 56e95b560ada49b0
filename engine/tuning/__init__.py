"""How the models' and the group's defaults are chosen, on validation data only.

``searches`` holds each model's grid search (``python -m engine tune <model>``), ``foldin`` the
fold-in settings chosen on two datasets (``python -m engine.tuning.foldin mf``), ``groups`` the
group default (``python -m engine tune fair``), and ``generalise`` the rule they share: keep the
setting whose worst case over the embedded sample and a MovieLens-like synthetic set is best.
This package sits above ``engine.evaluate`` (it scores candidates with the protocols' code);
nothing in ``engine.evaluate`` imports it.
"""
