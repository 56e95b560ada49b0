"""Movie Night's recommender engine: data, models, group blending, evaluation.

No Streamlit import anywhere in this package: the app depends on the engine, never the reverse.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
