"""The Ray tests' cluster: a 2-CPU local Ray, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """Both actors up before any batch (``wait_for_min_actors_s``: slow on a loaded CI)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    saved = context.enable_progress_bars, context.wait_for_min_actors_s
    context.enable_progress_bars = False
    context.wait_for_min_actors_s = 300
    yield
    context.enable_progress_bars, context.wait_for_min_actors_s = saved
    ray.shutdown()
