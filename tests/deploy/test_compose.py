"""deploy/compose.yaml and deploy/kubernetes.yaml, checked without Docker or a cluster: nginx's
entrypoint makes a configuration that a real nginx accepts (`nginx -t`) from deploy/nginx.conf,
every CONVSCOPE_* variable they set is a setting, Redis is bounded in memory and writes
nothing to disk, and the probes are the app's /healthz and /readyz.

(`tests/deploy/test_replicas.py` runs the same nginx.conf in front of three live replicas.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.settings import ROOT, Settings

DEPLOY = ROOT / "deploy"
COMPOSE = (DEPLOY / "compose.yaml").read_text()
KUBERNETES = (DEPLOY / "kubernetes.yaml").read_text()


def nginx_binary() -> str:
    for candidate in (os.environ.get("CONVSCOPE_NGINX"), "/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "nginx is not installed: `make test` installs it (scripts/ensure-nginx.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def test_the_compose_nginx_runs_deploy_nginx_conf_with_the_replicas_as_upstream(
    tmp_path: Path,
) -> None:
    nginx = nginx_binary()
    site = tmp_path / "site.conf"
    env = {
        **os.environ,
        "CONVSCOPE_NGINX_SITE": str(DEPLOY / "nginx.conf"),
        "CONVSCOPE_NGINX_OUT": str(site),
        "CONVSCOPE_UPSTREAM": "127.0.0.1:9",  # the replicas' service name, resolvable here
    }
    subprocess.run(["sh", str(DEPLOY / "nginx-entrypoint.sh"), "true"], env=env, check=True)
    text = site.read_text()
    assert text.count("server 127.0.0.1:9 max_fails=1 fail_timeout=5s;") == 1
    assert "server 127.0.0.1:8000;" not in text
    text = text.replace("listen 80;", "listen 127.0.0.1:9;")
    site.write_text(text)
    user = "user root;" if os.geteuid() == 0 else ""
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"{user}\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{\n    include {site};\n}}\n"
    )
    command = [nginx, "-p", str(tmp_path), "-c", str(main), "-e", str(tmp_path / "e.log"), "-t"]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "./nginx.conf:/etc/convscope/nginx.conf:ro" in COMPOSE
    assert "./nginx-entrypoint.sh:/etc/convscope/nginx-entrypoint.sh:ro" in COMPOSE


@pytest.mark.parametrize("text", [COMPOSE, KUBERNETES], ids=["compose", "kubernetes"])
def test_the_deployments_set_real_settings_bound_redis_and_probe_the_app(text: str) -> None:
    names = set(re.findall(r"\bCONVSCOPE_([A-Z_]+)", text))
    assert {"REDIS_URL", "HOST", "PORT", "DEVICE"} <= names
    assert {name.lower() for name in names} <= set(Settings.model_fields)
    assert re.search(r'"--maxmemory",\s*"1gb"', text)
    assert re.search(r'"--maxmemory-policy",\s*"volatile-lru"', text)
    assert '"--save", ""' in text and '"--appendonly", "no"' in text
    assert "/readyz" in text
    redis_url = re.search(r"CONVSCOPE_REDIS_URL[^\n]*?redis://[\w.-]+:6379/0", text)
    assert redis_url is not None


def test_kubernetes_probes_liveness_and_readiness_separately() -> None:
    assert re.search(r"livenessProbe:\s*\n\s*httpGet: \{path: /healthz", KUBERNETES)
    assert re.search(r"readinessProbe:.*\n\s*httpGet: \{path: /readyz", KUBERNETES)
