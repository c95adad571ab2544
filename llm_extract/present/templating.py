"""The Jinja2 environment for the HTML pages in ``templates/`` (the eval report
and the review page): autoescaped, so every value prints as text, never as markup."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

__all__ = ["templates"]


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    """The HTML templates shipped beside this module, autoescaped."""
    root = resources.files("llm_extract.present") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
