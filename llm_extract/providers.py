"""Which backend serves a request: the one place that maps settings to a model.

No server configured means the embedded model, in-process; a base URL or a
key means an OpenAI-compatible server.
"""

from __future__ import annotations

from .backends import Backend, OpenAIBackend
from .embedded import EmbeddedBackend
from .settings import Settings


def make_backend(settings: Settings) -> Backend:
    """The embedded model when no server is configured, else an OpenAI-compatible one."""
    if settings.embedded:
        return EmbeddedBackend(settings)
    return OpenAIBackend(settings)
