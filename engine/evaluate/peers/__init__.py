"""Peers: published libraries' models run in the same process, on the same splits, scored by the
same code as ours, so that a table says how Movie Night's models stand against well-known ones.

- ``implicit_peers``: implicit (ALS, BPR, logistic MF, item-kNN) and popularity, for protocols R
  and F, with the helpers every peer shares (versions, threads, a fitted peer's scores);
- ``surprise_peers``: scikit-surprise (SVD, SVD++, kNN) for protocol E, its defaults and its
  strongest settings.

Both libraries are optional (requirements-bench.txt); a missing one is a note in the table.
"""
