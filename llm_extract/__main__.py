"""``python -m llm_extract``: the same command as ``llm-extract``."""

from .cli import app

app()
