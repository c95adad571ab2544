"""The CLI's contract: exit codes and one-line errors for bad input, no tracebacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_extract.present.cli import app


def _run(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"   \n\t  \n", "empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "binary"),
        (b"caf\xe9 au lait deal", "UTF-8"),
        (b"\xff\xfe\x00O\x00K", "binary"),
    ],
)
def test_bad_file_exits_2_with_one_line(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    code, out, err = _run(["deal", str(path)])
    assert code == 2
    assert out == ""
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_and_directory_exit_2(tmp_path: Path) -> None:
    code, _, err = _run(["deal", str(tmp_path / "nope.txt")])
    assert code == 2 and "no such file" in err
    code, _, err = _run(["deal", str(tmp_path)])
    assert code == 2 and "directory" in err


def test_stdin_empty_exits_2() -> None:
    code, _, err = _run(["deal", "-"], stdin=b"  \n")
    assert code == 2 and "standard input" in err


def test_bad_setting_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Acme Corp agreed to buy Beta Inc.")
    code, _, err = _run(["deal", str(path), "--timeout", "-1"])
    assert code == 2 and "timeout" in err


def test_unreachable_server_exits_1_naming_the_cause(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Acme Corp agreed to buy Beta Inc for 5 mln dlrs.")
    args = ["deal", str(path), "--base-url", "http://127.0.0.1:9/v1", "--timeout", "2"]
    result = CliRunner(env={"LLM_EXTRACT_API_KEY": "sk-" + "secret" * 4}).invoke(
        app, [*args, "--reasks", "0"]
    )
    assert result.exit_code == 1
    assert "BackendError" in result.stderr and "127.0.0.1:9" in result.stderr
    assert "sk-secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_no_deal_exits_1_but_all_prints_empty_result(tmp_path: Path) -> None:
    """Uses a loopback fake server answering with an empty deal template."""
    from tests.fake_server import completion, fake_server

    empty = {"trigger": None, "deal_type": "other", "buyer": None, "target": None, "seller": None,
             "amount": None, "status": None, "business": None, "location": None}  # fmt: skip
    path = tmp_path / "a.txt"
    path.write_text("Harlow Foods said first-half profit rose 12 pct.")
    with fake_server([completion(json.dumps(empty))]) as srv:
        base = ["deal", str(path), "--base-url", srv.base_url, "--strategy", "record"]
        code, out, err = _run(base)
        assert code == 1 and "no deal found" in err
        code, out, err = _run([*base, "--all"])
        assert code == 0
        assert json.loads(out) == {"deals": [], "companies": []}


def test_html_review_page_and_published_date(tmp_path: Path) -> None:
    from tests.fake_server import completion, fake_server

    slots = {"buyer": "Acme Corp", "target": "Beta Inc", "seller": None,
             "amount": "5 mln dlrs", "status": "agreed", "business": None,
             "location": None, "trigger": "agreed to buy", "deal_type": "acquisition"}  # fmt: skip
    path = tmp_path / "a.txt"
    path.write_text("Acme Corp said it agreed to buy Beta Inc for 5 mln dlrs.")
    page = tmp_path / "review.html"
    with fake_server([completion(json.dumps(slots))]) as srv:
        args = ["deal", str(path), "--base-url", srv.base_url, "--strategy", "record", "--json",
                "--html", str(page), "--published", "2024-05-31"]  # fmt: skip
        code, out, err = _run(args)
    assert code == 0, err
    envelope = json.loads(out)
    assert envelope["result"]["amount"] == {"text": "5 mln dlrs", "amount": 5e6, "currency": "USD"}
    html = page.read_text(encoding="utf-8")
    assert "<mark" in html and "Beta Inc" in html and "5 mln dlrs" in html


def test_bad_published_date_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Acme Corp agreed to buy Beta Inc.")
    code, _, err = _run(["deal", str(path), "--published", "last tuesday"])
    assert code == 2 and "--published" in err


def test_waits_are_told_on_each_invocation_s_own_stderr(tmp_path: Path) -> None:
    """The log handler must not keep the first invocation's (closed) stream."""
    from tests.fake_server import completion, fake_server, rate_limited

    path = tmp_path / "a.txt"
    path.write_text("Acme Corp agreed to buy Beta Inc for 5 mln dlrs.")
    answer = json.dumps({"buyer": "Acme Corp", "target": "Beta Inc", "seller": None,
                         "amount": "5 mln dlrs", "status": "agreed", "business": None,
                         "location": None, "trigger": "agreed to buy",
                         "deal_type": "acquisition"})  # fmt: skip
    for _ in range(2):
        with fake_server([rate_limited(3), completion(answer)]) as srv:
            args = ["deal", str(path), "--base-url", srv.base_url, "--model", "m",
                    "--strategy", "record"]  # fmt: skip
            result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "waiting 3 s before retrying (HTTP 429)" in result.stderr
        assert "Logging error" not in result.stderr


def test_eval_without_scipy_exits_2_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gold, pred = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    gold.write_text(json.dumps({"id": "a", "deals": []}) + "\n")
    pred.write_text(json.dumps({"id": "a", "deals": []}) + "\n")
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # import fails as if not installed
    code, out, err = _run(["eval", str(gold), "--predictions", str(pred)])
    assert code == 2 and out == ""
    assert 'pip install "llm-extract[evals]"' in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
