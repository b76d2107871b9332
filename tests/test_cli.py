"""The `convscope` command: serve by default, flags over environment over defaults."""

from __future__ import annotations

import pytest

from app import __version__, cli


@pytest.fixture
def served(monkeypatch):
    """What `convscope serve` would run: the bounded server's config, not started."""
    calls = {}

    def fake_run(server):
        config = server.config
        calls.update(app=config.app, host=config.host, port=config.port, config=config)

    from app.web.server import BoundedServer

    monkeypatch.setattr(BoundedServer, "run", fake_run)
    return calls


def test_plain_convscope_serves_on_localhost_8000(served, capsys, monkeypatch):
    for name in ("CONVSCOPE_HOST", "CONVSCOPE_PORT", "CONVSCOPE_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main([]) == 0
    assert (served["host"], served["port"]) == ("127.0.0.1", 8000)
    assert "serving on http://127.0.0.1:8000" in capsys.readouterr().out


def test_flags_override_the_environment(served, capsys, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_PORT", "9001")
    monkeypatch.setenv("CONVSCOPE_HOST", "0.0.0.0")
    assert cli.main(["serve"]) == 0
    assert (served["host"], served["port"]) == ("0.0.0.0", 9001)
    assert cli.main(["serve", "--port", "9002", "--device", "cpu"]) == 0
    assert served["port"] == 9002
    assert "computing on cpu" in capsys.readouterr().out


def test_flags_without_the_subcommand_also_serve(served, monkeypatch):
    monkeypatch.delenv("CONVSCOPE_PORT", raising=False)
    assert cli.main(["--port", "9100"]) == 0
    assert served["port"] == 9100


def test_a_missing_device_is_a_clear_error(served, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert cli.main(["serve", "--device", "cuda"]) == 2
    assert "torch sees no CUDA GPU" in capsys.readouterr().err
    assert "app" not in served


def test_version(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_serve_runs_the_bounded_server_with_the_settings(served, monkeypatch):
    from app.web.server import BoundedH11Protocol

    monkeypatch.setenv("CONVSCOPE_KEEP_ALIVE_TIMEOUT_S", "7")
    monkeypatch.setenv("CONVSCOPE_HEADER_TIMEOUT_S", "3")
    monkeypatch.setenv("CONVSCOPE_MAX_CONNECTIONS", "40")
    monkeypatch.setenv("CONVSCOPE_LISTEN_BACKLOG", "5")
    assert cli.main(["serve", "--device", "cpu"]) == 0
    config = served["config"]
    assert issubclass(config.http, BoundedH11Protocol)
    assert (config.http.guard.max_connections, config.http.guard.header_timeout_s) == (40, 3)
    assert (config.timeout_keep_alive, config.backlog, config.limit_concurrency) == (7, 5, 41)
