"""Recorded outputs replay exactly, hold no request text, and fail loudly when stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_extract import Report, Settings, extract_deals
from llm_extract.errors import ConfigurationError
from llm_extract.recordings import RecordingBackend, ReplayBackend, StaleRecordingError

from .test_pipeline import ARTICLE, GOOD, ScriptedBackend

SETTINGS = Settings(base_url="http://unused", spans=False, compact=False, model="fake-model")


def test_record_then_replay_reproduces_result_and_costs(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    live = RecordingBackend(ScriptedBackend(GOOD), path)
    first_report, second_report = Report(), Report()
    first = extract_deals(ARTICLE, settings=SETTINGS, backend=live, report=first_report)
    replay = ReplayBackend(path, "fake-model")
    second = extract_deals(ARTICLE, settings=SETTINGS, backend=replay, report=second_report)
    assert first == second
    assert first_report.prompt_tokens == second_report.prompt_tokens > 0
    stored = path.read_text(encoding="utf-8")
    assert "Norvane Robotics said" not in stored, "the request (article) must not be stored"
    assert stored.count("\n") == 1


def test_changed_prompt_or_text_is_a_stale_recording(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    extract_deals(ARTICLE, settings=SETTINGS, backend=RecordingBackend(ScriptedBackend(GOOD), path))
    replay = ReplayBackend(path, "fake-model")
    with pytest.raises(StaleRecordingError) as info:
        extract_deals(ARTICLE + " More.", settings=SETTINGS, backend=replay)
    assert "re-record" in str(info.value)
    with pytest.raises(StaleRecordingError):
        extract_deals(ARTICLE, settings=SETTINGS.with_(max_tokens=99), backend=replay)
    with pytest.raises(StaleRecordingError):
        extract_deals(ARTICLE, settings=SETTINGS, backend=ReplayBackend(path, "other-model"))


def test_missing_or_broken_recording_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no recording"):
        ReplayBackend(tmp_path / "none.jsonl", "m")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"request_sha256": "x"}\n')
    with pytest.raises(ConfigurationError, match=r"broken\.jsonl:1"):
        ReplayBackend(broken, "m")


async def test_async_record_and_replay(tmp_path: Path) -> None:
    from llm_extract import aextract_deals

    path = tmp_path / "rec.jsonl"
    live = RecordingBackend(ScriptedBackend(GOOD), path)
    first = await aextract_deals(ARTICLE, settings=SETTINGS, backend=live)
    second = await aextract_deals(
        ARTICLE, settings=SETTINGS, backend=ReplayBackend(path, "fake-model")
    )
    assert first == second


def test_a_stopped_recording_resumes_without_asking_again(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    extract_deals(ARTICLE, settings=SETTINGS, backend=RecordingBackend(ScriptedBackend(GOOD), path))
    again = ScriptedBackend()  # any call to it fails the test
    extract_deals(ARTICLE, settings=SETTINGS, backend=RecordingBackend(again, path))
    assert again.requests == []
    assert path.read_text(encoding="utf-8").count("\n") == 1
