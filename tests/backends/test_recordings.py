"""Recorded outputs replay exactly, hold no request text, and fail loudly when stale."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llm_extract import Report, Settings, extract_deals
from llm_extract.backends.base import ChatRequest, Completion
from llm_extract.backends.recordings import RecordingBackend, RecordingFile, ReplayBackend
from llm_extract.backends.store import StaleRecordingError
from llm_extract.errors import ConfigurationError
from tests.core.pipeline_helpers import ARTICLE, GOOD, ScriptedBackend

SETTINGS = Settings(base_url="http://unused", spans=False, strategy="full", model="fake-model")


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


class SlowBackend(ScriptedBackend):
    def complete(self, request: ChatRequest) -> Completion:
        time.sleep(0.05)
        return super().complete(request)


def test_replay_reports_the_recorded_seconds_and_counts_untimed_lines(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    live = RecordingBackend(SlowBackend(GOOD), path)
    extract_deals(ARTICLE, settings=SETTINGS, backend=live)
    assert live.timing.timed == 1 and live.timing.seconds >= 0.05
    recorded = json.loads(path.read_text(encoding="utf-8"))["seconds"]
    assert recorded >= 0.05
    replay = ReplayBackend(path, "fake-model")
    extract_deals(ARTICLE, settings=SETTINGS, backend=replay)
    assert replay.timing.per_answer() == pytest.approx(recorded)
    resumed = RecordingBackend(ScriptedBackend(), path)  # answers from the file, times too
    extract_deals(ARTICLE, settings=SETTINGS, backend=resumed)
    assert resumed.timing.seconds == pytest.approx(recorded)
    # a line recorded before timings existed: untimed, not "took no time"
    row = json.loads(path.read_text(encoding="utf-8"))
    del row["seconds"]
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    old = ReplayBackend(path, "fake-model")
    extract_deals(ARTICLE, settings=SETTINGS, backend=old)
    assert (old.timing.timed, old.timing.untimed, old.timing.per_answer()) == (0, 1, None)


def test_a_line_cut_short_by_a_kill_is_skipped_and_mended(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    extract_deals(ARTICLE, settings=SETTINGS, backend=RecordingBackend(ScriptedBackend(GOOD), path))
    whole = path.read_text(encoding="utf-8")
    path.write_text(whole + whole[:40], encoding="utf-8")  # a second append, torn
    extract_deals(ARTICLE, settings=SETTINGS, backend=ReplayBackend(path, "fake-model"))
    assert path.read_text(encoding="utf-8") == whole + whole[:40]  # replay never writes
    RecordingBackend(ScriptedBackend(), path)
    assert path.read_text(encoding="utf-8") == whole
    path.write_text(whole.rstrip("\n"), encoding="utf-8")  # whole, but no final newline
    RecordingBackend(ScriptedBackend(), path)
    assert path.read_text(encoding="utf-8") == whole  # so the next append starts a line
    path.write_text(whole[:40] + "\n" + whole, encoding="utf-8")  # torn, then more: corrupt
    with pytest.raises(ConfigurationError, match=r"rec\.jsonl:1"):
        ReplayBackend(path, "fake-model")


def test_keep_all_appends_only_new_answers_and_a_reopened_file_finds_them(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    store = RecordingFile(path)

    def completion(i: int) -> Completion:
        return Completion(f'{{"n": {i}}}', "stop", None, 3, i, "m", tokens=[("{", -0.1)])

    assert store.keep_all((f"k{i}", completion(i), None) for i in range(50)) == 50
    assert store.keep_all([("k3", completion(99), 1.0), ("k50", completion(50), 0.25)]) == 1
    assert len(path.read_text().splitlines()) == 51
    reopened = RecordingFile(path)
    assert len(reopened) == 51
    assert reopened.lookup("k3") == (completion(3), None)
    assert reopened.lookup("k50") == (completion(50), 0.25)
    assert reopened.lookup("nope") is None
