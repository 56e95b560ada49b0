"""HAProxy in front of the replicas: sticky sessions by cookie, a health check per replica.

Why HAProxy (Debian's ``haproxy`` package) rather than nginx or Caddy: open-source nginx has
neither active health checks nor cookie stickiness (only ``ip_hash``, which puts every phone
behind one home router on one replica and cannot move a member off a dead one until a request
fails); Caddy has both but Debian's 2.6 package adds a second configuration language for no
gain here. HAProxy has all three things this deployment needs in its base configuration:

* ``cookie MNREPLICA insert``: a browser keeps its replica (Streamlit's session lives in the
  process that served the websocket), and ``option redispatch`` sends it to a live one when
  that replica is down, which is how a member carries on after a crash;
* ``option httpchk GET /_stcore/health`` every second: a dead replica leaves the pool within
  ~2 s, a restarted one comes back by itself;
* websockets need no special setup (``timeout tunnel`` keeps idle ones open), and its stats page
  shows each replica's state and sessions.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tools.deploy.children import Child

COOKIE = "MNREPLICA"
CHECK_EVERY_MS = 1000


def config_text(port: int, replica_ports: list[int], stats_port: int) -> str:
    """The whole ``haproxy.cfg`` for a proxy on ``port`` over replicas on ``replica_ports``."""
    servers = "\n".join(
        f"    server r{i + 1} 127.0.0.1:{p} check cookie r{i + 1}"
        for i, p in enumerate(replica_ports)
    )
    return f"""\
global
    maxconn 4000
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option redispatch
    retries 3
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 10s

frontend movienight
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance leastconn
    cookie {COOKIE} insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect status 200
    default-server inter {CHECK_EVERY_MS} fall 2 rise 1
{servers}

frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /
    stats refresh 2s
"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy")
    if found is None and Path("/usr/sbin/haproxy").exists():
        found = "/usr/sbin/haproxy"
    if found is None:
        raise FileNotFoundError("no haproxy binary: apt-get install haproxy (Debian's package)")
    return found


def proxy_child(
    port: int, replica_ports: list[int], stats_port: int, run_dir: Path, log_dir: Path
) -> Child:
    """The proxy as a launcher child: its config written to ``run_dir/haproxy.cfg``, run in the
    foreground (``-db``) so a stop reaches it. SIGTERM stops it at once (its soft stop, SIGUSR1,
    would wait for every open websocket to close)."""
    cfg = run_dir / "haproxy.cfg"
    cfg.write_text(config_text(port, replica_ports, stats_port))
    return Child(
        "haproxy",
        [haproxy_binary(), "-db", "-f", str(cfg)],
        env=dict(os.environ),
        cwd=run_dir,
        log_dir=log_dir,
    )
