"""``python -m llm_extract``: the same command as ``llm-extract``."""

from .present.cli import app

app()
