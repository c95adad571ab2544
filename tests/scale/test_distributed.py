"""Ray Data extraction against the scripted fake server, on a 2-CPU local Ray.

The fake server runs in this process on 127.0.0.1; the Ray actors are other processes
on the same machine and reach it by URL. Every article is invented and reports the same
acquisition, so the one scripted DealSlots answer is grounded in each of them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from llm_extract.errors import ConfigurationError  # noqa: E402
from llm_extract.records.schemas import ArticleDeals  # noqa: E402
from llm_extract.scale.distributed import Extractor, extract_dataset  # noqa: E402
from llm_extract.settings import Settings  # noqa: E402
from tests.fake_server import completion, fake_server, server_error  # noqa: E402
from tests.scale.test_batch import ANSWER  # noqa: E402

N = 20
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
    pytest.mark.usefixtures("local_ray"),
]


def articles(n: int = N) -> list[dict[str, Any]]:
    return [
        {
            "id": f"doc-{i:02d}",
            "text": f"Acme Holdings agreed to acquire Beta Tools for 5 mln dlrs. The seller's "
            f"workshop number {i} in Varrow makes brass hinges.",
        }
        for i in range(n)
    ]


def options(base_url: str | None) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "api_key": "x",
        "spans": False,
        "strategy": "record",
        "model": "m",
        "transport_retries": 0,
        "reasks": 0,
        "timeout": 10.0,
    }


def doc_of(body: Any) -> str:
    (number,) = set(re.findall(r"workshop number (\d+)", json.dumps(body)))
    return f"doc-{int(number):02d}"


def run(**kwargs: Any) -> list[dict[str, Any]]:
    ds = ray.data.from_items(articles())
    rows: list[dict[str, Any]] = extract_dataset(ds, batch_size=4, **kwargs).take_all()
    assert sorted(r["id"] for r in rows) == [a["id"] for a in articles()]
    return rows


def test_every_id_once_ok_with_valid_article_deals() -> None:
    with fake_server([completion(ANSWER)]) as srv:
        rows = run(actors=2, per_actor_concurrency=4, **options(srv.base_url))
        assert len(srv.requests) == N
    for row in rows:
        assert (row["status"], row["error"]) == ("ok", "")
        assert (row["prompt_tokens"], row["completion_tokens"]) == (11, 7)
        deal = ArticleDeals.model_validate_json(row["result"]).deals[0]
        assert [p.name for p in deal.parties] == ["Acme Holdings", "Beta Tools"]
        assert deal.amount is not None and deal.amount.text == "5 mln dlrs"


def test_server_errors_become_error_rows_and_the_rest_succeed() -> None:
    failing = (2, 7, 12)
    script = [server_error(500) if i in failing else completion(ANSWER) for i in range(N)]
    with fake_server(script) as srv:
        rows = run(actors=2, per_actor_concurrency=4, **options(srv.base_url))
        # the script is consumed in arrival order: these requests got the 500s
        failed = {doc_of(srv.requests[i].body) for i in failing}
    assert len(failed) == len(failing)
    errors = {r["id"]: r for r in rows if r["status"] == "error"}
    assert set(errors) == failed
    for row in errors.values():
        assert row["result"] == "" and row["error"].startswith("BackendError")
        assert "500" in row["error"]
    for row in rows:
        if row["id"] not in failed:
            assert row["status"] == "ok" and row["error"] == ""
            ArticleDeals.model_validate_json(row["result"])


def test_base_urls_pin_each_actor_to_one_server() -> None:
    with fake_server([completion(ANSWER)]) as a, fake_server([completion(ANSWER)]) as b:
        settings = options(None)
        rows = run(actors=2, base_urls=[a.base_url, b.base_url], **settings)
        served = [{doc_of(r.body) for r in s.requests} for s in (a, b)]
    assert {r["status"] for r in rows} == {"ok"}
    assert len(served[0]) + len(served[1]) == N and not served[0] & served[1]
    assert served[0] and served[1], "each actor has its own server"


def test_bad_rows_and_settings() -> None:
    with fake_server([completion(ANSWER)]) as srv:
        extractor = Extractor(Settings(**options(srv.base_url)), per_actor_concurrency=2)
        out = extractor({"id": _array(["a", "b"]), "text": _array(["   ", None])})
    assert out["id"] == ["a", "b"] and out["status"] == ["error", "error"]
    assert out["error"][0].startswith("InputError") and "NoneType" in out["error"][1]
    with pytest.raises(ConfigurationError, match="unknown settings"):
        extract_dataset(ray.data.from_items(articles(2)), temprature=0.5)
    with pytest.raises(ConfigurationError, match="not both"):
        extract_dataset(ray.data.from_items(articles(2)), base_urls=["u"], base_url="v")


def test_workers_use_the_driver_settings_not_their_own_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fake_server([completion(ANSWER)]) as srv:
        driver = Settings(**options(srv.base_url))
        monkeypatch.setenv("LLM_EXTRACT_MODEL", "worker-model")
        monkeypatch.setenv("LLM_EXTRACT_BASE_URL", "http://127.0.0.1:9/v1")
        extractor = Extractor(driver, per_actor_concurrency=1)
        out = extractor({"id": _array(["a"]), "text": _array([articles(1)[0]["text"]])})
        assert out["status"] == ["ok"] and extractor.settings == driver
        assert srv.requests[-1].body["model"] == "m"


def _array(values: list[Any]) -> Any:
    import numpy as np

    return np.array(values, dtype=object)
