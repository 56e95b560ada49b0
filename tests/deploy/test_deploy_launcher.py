"""The one-command deployment: HAProxy's configuration, a stop that reaches every process, and
``./scripts/deploy`` itself started and stopped with SIGTERM, leaving no process behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import MODEL, missing_piece, seeded_data_dir

from tools.app_server import free_port
from tools.deploy.children import Child
from tools.deploy.haproxy import COOKIE, config_text, haproxy_binary

ROOT = Path(__file__).resolve().parents[2]
psutil = pytest.importorskip("psutil")


def test_proxy_config_checks_every_replica_and_keeps_members_on_theirs():
    text = config_text(8500, [8601, 8602, 8603], 8404)
    servers = re.findall(r"^\s+server (r\d) 127\.0\.0\.1:(\d+) check cookie (r\d)$", text, re.M)
    assert servers == [("r1", "8601", "r1"), ("r2", "8602", "r2"), ("r3", "8603", "r3")]
    assert f"cookie {COOKIE} insert" in text  # sticky: Streamlit's session lives in one process
    assert "option redispatch" in text  # ...unless that process is down
    assert "option httpchk GET /_stcore/health" in text
    assert "bind 127.0.0.1:8500" in text and "bind 127.0.0.1:8404" in text


def test_haproxy_accepts_the_config(tmp_path):
    try:
        binary = haproxy_binary()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(config_text(free_port(), [free_port(), free_port()], free_port()))
    done = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_stop_reaches_what_a_child_started_itself(tmp_path):
    """A replica's training worker is its own child: stopping the replica must stop it too."""
    child = Child(
        "tree",
        ["bash", "-c", "trap '' TERM; sleep 300 & sleep 300 & echo started; wait"],
        env=dict(os.environ),
        cwd=tmp_path,
        log_dir=tmp_path,
    )
    child.start()
    deadline = time.monotonic() + 10
    while len(psutil.Process(child.pid).children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchildren = psutil.Process(child.pid).children()
    assert len(grandchildren) == 2
    # bash ignores SIGTERM here, so the stop has to fall back to SIGKILL for the group.
    child.stop(grace=0.5)
    assert not child.alive()
    _gone, alive = psutil.wait_procs(grandchildren, timeout=5)
    assert not alive


def _descendants(pid: int) -> list:
    return psutil.Process(pid).children(recursive=True)


@pytest.mark.deploy
def test_the_one_command_serves_through_the_proxy_and_sigterm_leaves_no_orphans():
    why = missing_piece()
    if why:
        pytest.skip(why)
    run_dir = Path(tempfile.mkdtemp(prefix="movienight-deploy-"))
    run_dir.chmod(0o755)
    port, stats = free_port(), free_port()
    command = [
        str(ROOT / "scripts" / "deploy"),
        "--replicas", "2", "--port", str(port), "--stats-port", str(stats),
        "--pg-port", str(free_port()), "--first-replica-port", str(free_port()),
        "--run-dir", str(run_dir), "--data-dir", str(seeded_data_dir(run_dir / "data")),
        "--model", MODEL,
    ]  # fmt: skip
    out = (run_dir / "launcher.out").open("w")
    launcher = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "Movie Night is up" not in (run_dir / "launcher.out").read_text():
            assert launcher.poll() is None, (run_dir / "launcher.out").read_text()
            assert time.monotonic() < deadline, (run_dir / "launcher.out").read_text()
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200
            assert re.match(rf"{COOKIE}=r[12];", r.headers["Set-Cookie"])
        names = " ".join(" ".join(p.cmdline()) for p in _descendants(launcher.pid))
        assert names.count("streamlit run") == 2
        assert "app.jobs work" in names and "haproxy" in names and "postgres" in names
        tree = _descendants(launcher.pid)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=120) == 0
        _gone, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, [" ".join(p.cmdline()) for p in alive]
        logs = run_dir / "logs"
        assert {p.name for p in logs.iterdir()} >= {
            f"{name}.log" for name in ("postgres", "replica-1", "replica-2", "worker", "haproxy")
        }
        assert "database system is shut down" in (logs / "postgres.log").read_text()
    finally:
        if launcher.poll() is None:
            launcher.kill()
        out.close()

        shutil.rmtree(run_dir, ignore_errors=True)
