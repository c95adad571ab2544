"""Tests for llm_extract.settings.Settings.resolve: precedence, backend choice, validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from llm_extract.errors import ConfigurationError
from llm_extract.settings import DEFAULT_REMOTE_MODEL, EMBEDDED_MODEL, Settings

SECRET = "sk-test-" + "0123456789abcdef"  # built at run time, see test_secrets


def test_defaults_with_an_empty_environment() -> None:
    s = Settings.resolve(env={})
    assert s == Settings()
    assert s.embedded
    assert s.model_name == EMBEDDED_MODEL
    assert (s.timeout, s.deadline) == (60.0, 180.0)
    assert s.response_format == "auto"
    assert (s.reasks, s.transport_retries, s.max_tokens) == (2, 4, 1536)


def test_resolve_never_reads_os_environ_when_env_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("LLM_EXTRACT_MODEL", "from-os-environ")
    assert Settings.resolve(env={}) == Settings()


def test_resolve_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLM_EXTRACT_BASE_URL", "OPENAI_BASE_URL", "LLM_EXTRACT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("LLM_EXTRACT_MODEL", "from-os-environ")
    s = Settings.resolve()
    assert s.secret == SECRET
    assert s.model == "from-os-environ"


@pytest.mark.parametrize(
    ("field", "explicit", "ours", "openai", "expected"),
    [
        ("base_url", "http://explicit", "http://ours", "http://openai", "http://explicit"),
        ("base_url", None, "http://ours", "http://openai", "http://ours"),
        ("base_url", None, None, "http://openai", "http://openai"),
        ("base_url", None, None, None, None),
        ("api_key", "explicit-key", "our-key", "openai-key", "explicit-key"),
        ("api_key", None, "our-key", "openai-key", "our-key"),
        ("api_key", None, None, "openai-key", "openai-key"),
        ("api_key", None, None, None, None),
    ],
)
def test_precedence_explicit_then_ours_then_openai_then_default(
    field: str, explicit: str | None, ours: str | None, openai: str | None, expected: str | None
) -> None:
    env = {}
    if ours is not None:
        env[f"LLM_EXTRACT_{field.upper()}"] = ours
    if openai is not None:
        env[f"OPENAI_{field.upper()}"] = openai
    s = Settings.resolve(env=env, **{field: explicit})
    assert (s.secret if field == "api_key" else getattr(s, field)) == expected


def test_empty_environment_values_count_as_unset() -> None:
    env = {"LLM_EXTRACT_API_KEY": "", "OPENAI_API_KEY": "openai-key", "LLM_EXTRACT_MODEL": ""}
    s = Settings.resolve(env=env)
    assert s.secret == "openai-key"
    assert s.model is None


def test_model_model_path_and_timeout_from_environment() -> None:
    env = {
        "LLM_EXTRACT_MODEL": "env-model",
        "LLM_EXTRACT_MODEL_PATH": "/models/x.gguf",
        "LLM_EXTRACT_TIMEOUT": "7.5",
    }
    s = Settings.resolve(env=env)
    assert (s.model, s.model_path, s.timeout) == ("env-model", "/models/x.gguf", 7.5)
    s = Settings.resolve(env=env, model="arg-model", model_path="/arg.gguf", timeout=3)
    assert (s.model, s.model_path, s.timeout) == ("arg-model", "/arg.gguf", 3)


def test_explicit_none_means_unset() -> None:
    s = Settings.resolve(env={"LLM_EXTRACT_MODEL": "env-model"}, model=None, reasks=None)
    assert s.model == "env-model"
    assert s.reasks == 2


def test_explicit_falsy_values_are_kept() -> None:
    s = Settings.resolve(env={}, reasks=0, spans=False, strategy="full", temperature=0.0)
    assert s.reasks == 0
    assert s.spans is False and not s.use_spans
    assert s.strategy == "full" and s.use_strategy == "full"


@pytest.mark.parametrize(
    ("env", "explicit", "embedded"),
    [
        ({}, {}, True),
        ({"OPENAI_API_KEY": SECRET}, {}, False),
        ({"LLM_EXTRACT_BASE_URL": "http://localhost:8080/v1"}, {}, False),
        ({}, {"base_url": "http://localhost:8080/v1"}, False),
        ({}, {"api_key": SECRET}, False),
        ({}, {"model": "some-model", "model_path": "/m.gguf"}, True),
    ],
)
def test_embedded_only_without_base_url_and_api_key(
    env: dict[str, str], explicit: dict[str, Any], embedded: bool
) -> None:
    s = Settings.resolve(env=env, **explicit)
    assert s.embedded is embedded
    assert s.use_strategy == ("windows" if embedded else "full")
    assert not s.use_spans  # windows copy names; full is for models that need no enums
    assert s.with_(strategy="record").use_spans is embedded  # one-shot: enums, embedded only
    if not explicit.get("model"):
        assert s.model_name == (EMBEDDED_MODEL if embedded else DEFAULT_REMOTE_MODEL)


def test_spans_and_strategy_can_be_forced_either_way() -> None:
    remote = Settings.resolve(env={"OPENAI_API_KEY": SECRET}, spans=True, strategy="record")
    assert remote.use_spans and remote.use_strategy == "record"
    local = Settings.resolve(env={}, spans=False, strategy="full")
    assert not local.use_spans and local.use_strategy == "full"


def test_unknown_strategy_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="strategy must be one of"):
        Settings(strategy="guess")  # type: ignore[arg-type]


def test_explicit_model_name_wins() -> None:
    assert Settings.resolve(env={}, model="m1").model_name == "m1"
    assert Settings.resolve(env={"OPENAI_API_KEY": SECRET}, model="m2").model_name == "m2"


def test_api_key_never_appears_in_repr_str_or_describe() -> None:
    s = Settings.resolve(env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://srv/v1"})
    assert s.secret == SECRET
    for shown in (repr(s), str(s), s.describe(), repr(s.with_(model="x"))):
        assert SECRET not in shown
    assert "http://srv/v1" in s.describe()


def test_describe() -> None:
    assert Settings.resolve(env={}).describe() == f"{EMBEDDED_MODEL} @ embedded llama.cpp"
    remote = Settings.resolve(env={"OPENAI_API_KEY": SECRET})
    assert remote.describe() == f"{DEFAULT_REMOTE_MODEL} @ api.openai.com"


@pytest.mark.parametrize("fmt", ["auto", "json_schema", "json_object", "prompt"])
def test_valid_response_formats(fmt: str) -> None:
    assert Settings.resolve(env={}, response_format=fmt).response_format == fmt


@pytest.mark.parametrize(
    "explicit",
    [
        {"response_format": "xml"},
        {"response_format": "JSON_SCHEMA"},
        {"reasks": -1},
        {"transport_retries": -1},
        {"max_tokens": -5},
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": float("nan")},
    ],
    ids=str,
)
def test_invalid_values_raise_configuration_error(explicit: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.resolve(env={}, **explicit)


def test_zero_budgets_are_allowed() -> None:
    s = Settings.resolve(env={}, reasks=0, transport_retries=0, max_tokens=0)
    assert (s.reasks, s.transport_retries, s.max_tokens) == (0, 0, 0)


@pytest.mark.parametrize("value", ["soon", "10s", "1,5", "nan", "0", "-3"])
def test_bad_timeout_in_environment_raises_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match=r"(?i)timeout"):
        Settings.resolve(env={"LLM_EXTRACT_TIMEOUT": value})


def test_explicit_timeout_overrides_a_bad_environment_timeout() -> None:
    s = Settings.resolve(env={"LLM_EXTRACT_TIMEOUT": "soon"}, timeout=5)
    assert s.timeout == 5


def test_unknown_keyword_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown settings: bogus, temprature"):
        Settings.resolve(env={}, temprature=0.2, bogus=1)


def test_configuration_error_never_echoes_the_key() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve(env={}, api_key=SECRET, response_format="nope")
    assert SECRET not in str(info.value)


def test_with_replaces_and_revalidates() -> None:
    s = Settings.resolve(env={})
    assert s.with_(reasks=5).reasks == 5
    assert s.reasks == 2  # frozen: the original is unchanged
    with pytest.raises(ConfigurationError):
        s.with_(reasks=-1)
    assert s.with_() is s  # nothing to change, nothing to copy or check again


def test_retry_budgets_come_from_the_environment_below_explicit_arguments() -> None:
    env = {"LLM_EXTRACT_TRANSPORT_RETRIES": "0", "LLM_EXTRACT_REASKS": "5"}
    s = Settings.resolve(env=env, reasks=1)
    assert (s.transport_retries, s.reasks) == (0, 1)
    with pytest.raises(ConfigurationError, match="LLM_EXTRACT_MAX_TOKENS"):
        Settings.resolve(env={"LLM_EXTRACT_MAX_TOKENS": "lots"})


def test_an_openai_key_never_goes_to_another_provider() -> None:
    env = {"OPENAI_API_KEY": "sk-openai-" + "x" * 20, "OPENAI_BASE_URL": "http://proxy.test/v1"}
    other = Settings.resolve(env, model="anthropic/claude-haiku")
    assert other.api_key is None and other.base_url is None and not other.embedded
    via_env = Settings.resolve({**env, "LLM_EXTRACT_MODEL": "google/gemini-2.5-flash"})
    assert via_env.api_key is None
    assert Settings.resolve(env, model="gpt-4o-mini").secret == env["OPENAI_API_KEY"]
    ours = Settings.resolve({**env, "LLM_EXTRACT_API_KEY": "k-ours"}, model="anthropic/x")
    assert ours.secret == "k-ours"


def test_the_key_is_held_as_a_secret_wherever_settings_are_printed() -> None:
    import dataclasses
    import pickle

    from pydantic import SecretStr

    s = Settings.resolve(env={"OPENAI_API_KEY": SECRET})
    assert isinstance(s.api_key, SecretStr) and s.secret == SECRET
    for shown in (repr(s), str(dataclasses.asdict(s)), str(vars(s)), f"{s.api_key}"):
        assert SECRET not in shown
    copy = pickle.loads(pickle.dumps(s))  # how Ray carries settings to its actors
    assert copy.secret == SECRET and copy == s
    assert Settings(api_key=SecretStr(SECRET)) == Settings(api_key=SECRET)
    assert Settings().secret is None


def test_other_llm_extract_variables_are_not_settings_and_are_ignored() -> None:
    env = {"LLM_EXTRACT_RECORD": "1", "LLM_EXTRACT_REQUIRE_CORPUS": "1", "LLM_EXTRACT_SLOTS": "3"}
    assert Settings.resolve(env=env) == Settings(slots=3)


def test_a_bad_whole_number_names_its_variable_and_what_it_got() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.resolve(env={"LLM_EXTRACT_SLOTS": "2.5"})
    assert str(info.value) == "LLM_EXTRACT_SLOTS must be a whole number, not '2.5'"


def test_no_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LLM_EXTRACT_MODEL=from-dotenv\nOPENAI_API_KEY=sk-dotenv\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.resolve(env={}) == Settings()


def test_the_key_from_the_environment_stays_secret() -> None:
    s = Settings.resolve(env={"OPENAI_API_KEY": SECRET})
    assert isinstance(s.api_key, SecretStr) and s.secret == SECRET
    assert SECRET not in repr(s)
