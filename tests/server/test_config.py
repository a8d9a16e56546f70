"""Settings: initializationOptions > environment > config.toml > defaults; bad values fall
back with a warning; the key comes from the environment only."""

from __future__ import annotations

from pathlib import Path

from server.config import load_settings


def test_precedence_and_forgiveness(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'model = "from-file"\nwire_api = "chat"\ndefault_mode = "agent"\ncontext_window = -3\n'
        "bogus = 1\n"
    )
    env = {"TETHER_HOME": str(tmp_path), "TETHER_MODEL": "from-env", "OPENAI_API_KEY": "sk-x"}
    s = load_settings({"model": "from-options", "wireApi": "sideways"}, env)
    assert s.model == "from-options"  # options beat the environment and the file
    assert s.wire_api == "chat"  # the bad option fell back to the file's value
    assert s.default_mode == "agent" and s.context_window is None
    assert s.api_key == "sk-x"
    joined = " ".join(s.warnings)
    assert "wireApi" in joined and "context_window" in joined and "bogus" in joined


def test_defaults_and_endpoint_problems(tmp_path: Path) -> None:
    s = load_settings({}, {"TETHER_HOME": str(tmp_path)})
    assert s.default_mode == "readOnly" and s.wire_api == "responses"
    assert "OPENAI_API_KEY" in (s.endpoint_problem() or "")
    local = load_settings({"baseUrl": "http://127.0.0.1:11434/v1"}, {"TETHER_HOME": str(tmp_path)})
    assert "TETHER_MODEL" in (local.endpoint_problem() or "")  # a local server needs a model
    ready = load_settings(
        {"baseUrl": "http://127.0.0.1:11434/v1", "model": "qwen"}, {"TETHER_HOME": str(tmp_path)}
    )
    assert ready.endpoint_problem() is None and ready.effective_model == "qwen"


def test_a_broken_config_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("model = [unclosed\n")
    s = load_settings({}, {"TETHER_HOME": str(tmp_path)})
    assert s.model is None and "not read" in " ".join(s.warnings)
