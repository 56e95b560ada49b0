"""Offline evaluation: metrics, the protocols of docs/PROTOCOLS.md, peers, and the bench report."""

from engine.evaluate.protocols import evaluate_e, evaluate_f, evaluate_r
from engine.metrics import coverage, mae, rmse, topn_metrics

__all__ = ["coverage", "evaluate_e", "evaluate_f", "evaluate_r", "mae", "rmse", "topn_metrics"]
