"""A Ray Data driver in a process of its own, for the tests that kill it with SIGKILL.

    python -m tests.scale.ray_driver IN.jsonl OUT.jsonl BASE_URL CACHE

Starts a 2-CPU local Ray, runs :func:`llm_extract.scale.distributed.run_dataset`
over the JSONL input with 2 actors, and prints the summary as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import ray

from llm_extract.scale.distributed import run_dataset


def main() -> None:
    inp, out, base_url, cache = sys.argv[1:5]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    summary = run_dataset(
        ray.data.read_json(inp), out, actors=2, per_actor_concurrency=4, batch_size=32,
        cache_path=cache, base_url=base_url, api_key="x", spans=False, strategy="record",
        model="m", transport_retries=2, reasks=0, timeout=10.0,
    )  # fmt: skip
    print(json.dumps(dataclasses.asdict(summary)))


if __name__ == "__main__":
    main()
