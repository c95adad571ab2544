"""The regression gate: replayed evals must match their committed baselines.

These run extraction from recorded model answers (no model, no network) on the
seed article and the holdout third of the Utah dev stories (129) and of the
SENTiVENT deal documents (54), the parts the embedded model's adapter was
not trained on, score them, and compare with ``evals/baselines/``. A prompt, schema or pipeline
change that moves any field's F1 fails here (or, if it changes a request, fails
as a stale recording).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.evals.runner import model_name, recording_path
from llm_extract.present.cli import app
from llm_extract.settings import Settings
from tests.conftest import CORPUS, ROOT, corpus_file

MODEL = "gemma-3-270m-q4_k_m"
RECORDING = recording_path(ROOT / "evals" / "recordings", model_name(Settings()))
"""Where ``--replay`` looks by default: the model's id carries the adapter's hash,
so a new adapter needs its own recording (the README's replay commands rely on it)."""
BASELINES = ROOT / "evals" / "baselines"
CASES = {
    "seed": [str(ROOT / "evals" / "gold" / "seed.jsonl")],
    "utah": ["--format", "utah", "corpus:utah_acquisitions/dev.jsonl", "--split", "holdout"],
}


def _args(case: str) -> list[str]:
    return [str(corpus_file(a[7:])) if a.startswith("corpus:") else a for a in CASES[case]]


def _eval(args: list[str]) -> tuple[int, str]:
    """Exit code and output: stderr first, then stdout, whose last line is micro_f1."""
    result = CliRunner().invoke(app, ["eval", *args, "--corpus-root", str(CORPUS)])
    return result.exit_code, result.stderr + result.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_replayed_eval_holds_its_baseline(case: str) -> None:
    corpus_file("seed/oneplus-optiemus.txt")
    baseline = BASELINES / f"{MODEL}.{case}.json"
    code, out = _eval(
        [*_args(case), "--replay", "--recording", str(RECORDING), "--against", str(baseline)]
    )
    assert code == 0, out
    expected = json.loads(baseline.read_text())["micro"]["f1"]
    assert out.strip().splitlines()[-1] == f"micro_f1={expected:.4f}"
    assert "cost per document over" in out and "answers timed" in out


def test_replayed_sentivent_holds_its_baseline(tmp_path: Path) -> None:
    """SENTiVENT is converted at run time (its text stays in the shared corpus)."""
    corpus_file("sentivent/docs.jsonl")
    gold = tmp_path / "sentivent.jsonl"
    result = CliRunner().invoke(
        app, ["convert", "sentivent", "-o", str(gold), "--corpus-root", str(CORPUS)]
    )
    assert result.exit_code == 0, result.output
    baseline = BASELINES / f"{MODEL}.sentivent.json"
    recording = RECORDING.with_suffix(".sentivent.jsonl")
    args = [str(gold), "--split", "holdout", "--replay", "--recording", str(recording)]
    code, out = _eval([*args, "--against", str(baseline)])
    assert code == 0, out
    expected = json.loads(baseline.read_text())["micro"]["f1"]
    assert out.strip().splitlines()[-1] == f"micro_f1={expected:.4f}"
    # SENTiVENT annotates deal type, parties and amounts only: the rest is not scored
    [idle] = [line for line in out.splitlines() if line.startswith("not scored")]
    assert "status" in idle and "people" in idle and "parties" not in idle


def test_gate_fails_and_names_the_regression(tmp_path: Path) -> None:
    corpus_file("seed/oneplus-optiemus.txt")
    baseline = json.loads((BASELINES / f"{MODEL}.seed.json").read_text())
    field = next(f for f, v in baseline["fields"].items() if v["tp"] + v["fn"] > 0 and v["f1"] < 1)
    baseline["fields"][field]["f1"] = 1.0
    better = tmp_path / "baseline.json"
    better.write_text(json.dumps(baseline))
    args = [*_args("seed"), "--replay", "--recording", str(RECORDING), "--against", str(better)]
    code, out = _eval(args)
    assert code == 1
    assert "regression" in out and field in out


def test_perfect_utah_predictions_score_one(tmp_path: Path) -> None:
    gold = corpus_file("utah_acquisitions/dev.jsonl")
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()[:15]]
    slots = ("acquired", "acqbus", "acqloc", "dlramt", "purchaser", "seller", "status")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "".join(json.dumps({"id": r["id"], **{s: r[s] for s in slots}}) + "\n" for r in rows)
    )
    code, out = _eval(["--format", "utah", str(gold), "--predictions", str(pred), "--limit", "15"])
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "micro_f1=1.0000"


def test_stale_recording_is_reported_not_called_live(tmp_path: Path) -> None:
    corpus_file("seed/oneplus-optiemus.txt")
    empty = tmp_path / "rec.jsonl"
    empty.write_text('{"request_sha256": "0", "completion": {"content": "{}", '
                     '"finish_reason": "stop", "refusal": null, "prompt_tokens": 1, '
                     '"completion_tokens": 1, "model": "m", "requests": 1}}\n')  # fmt: skip
    code, out = _eval([*_args("seed"), "--replay", "--recording", str(empty)])
    assert code == 1
    assert "StaleRecordingError" in out and "re-record" in out
    assert out.strip().splitlines()[-1].startswith("micro_f1=")


def test_bad_gold_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "a", "text": "x"}\nnot json\n')
    code, out = _eval([str(bad), "--replay", "--recording", str(RECORDING)])
    assert code == 2 and "gold.jsonl" in out
