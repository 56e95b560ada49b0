"""Movie Night as people deploy it: PostgreSQL, N Streamlit replicas, a training worker and
HAProxy with sticky sessions, started by one command (``./scripts/deploy``, docs/DEPLOY.md).

``children`` (processes with their own group and log), ``postgres`` (a throwaway cluster on the
system's server), ``haproxy`` (the proxy's configuration and why HAProxy), ``stack`` (the whole
deployment as one object, which the drills in ``tests/deploy`` break on purpose), ``capacity``
(members ramped until taps get slow).
"""
