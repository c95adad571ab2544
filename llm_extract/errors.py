"""One hierarchy of typed errors, each carrying what the caller needs to act.

``LLMExtractError``
    ``InputError`` (also a ``ValueError``): the text itself is unusable.
        ``OutputInUseError``: another batch run holds the output file.
    ``ConfigurationError``: settings that cannot work (missing model file...).
    ``BackendError``: the model server could not be reached or refused us,
    after the transport retry budget was spent.
        ``DeadlineExceededError``: the document's total time ran out.
        ``ProviderBatchError``: a provider batch job could not be made, or failed whole.
    ``ExtractionError``: the model answered, but no valid result came of it.
        ``TruncatedOutputError``: the answer hit the token limit.
        ``ValidationFailedError``: still schema-invalid after repair and re-asks.
        ``RefusalError``: the model declined to answer.
        ``EmptyResponseError``: the server returned no choices or no content.
    ``NoDealFound``: the article reports no deal, so there is no main deal.

No message ever contains an API key: callers log these freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


class LLMExtractError(Exception):
    """Base of every error this library raises on purpose."""


class InputError(LLMExtractError, ValueError):
    """The input text cannot be extracted from: empty, binary, undecodable."""


class OutputInUseError(InputError):
    """Another run is writing the same output file; nothing was done."""


class ConfigurationError(LLMExtractError):
    """The settings cannot work, e.g. the embedded model is not installed."""


class BackendError(LLMExtractError):
    """The model server failed at the transport level after all retries.

    ``status`` is the last HTTP status (None for timeouts and dropped
    connections); ``attempts`` counts requests sent; ``transient`` says whether
    trying again later may work (429, 5xx, timeouts, dropped connections), and
    ``retry_after`` is the server's hint in seconds, if it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        attempts: int,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.transient = transient
        self.retry_after = retry_after


class ProviderBatchError(BackendError):
    """A provider's batch job could not be created, or failed as a whole (the
    provider refused its input file); ``batch_id`` names it when it exists."""

    def __init__(self, message: str, *, batch_id: str | None = None) -> None:
        super().__init__(message, status=None, attempts=1)
        self.batch_id = batch_id


class DeadlineExceededError(BackendError):
    """The extraction's total time (``settings.deadline``) ran out across its
    requests, retries and re-asks; nothing half-done is returned."""


ProblemKind = Literal["refused", "empty", "truncated", "invalid_json", "invalid", "ungrounded"]


@dataclass
class AttemptRecord:
    """What one model call returned and why it was not accepted.

    ``kind`` is the typed reason the answer was turned down (None when it was
    accepted); ``problems`` are the same reasons in words, for the re-ask
    prompt and for people. Code decides on ``kind``, never on the wording.
    """

    raw: str
    finish_reason: str | None
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    kind: ProblemKind | None = None


class ExtractionError(LLMExtractError):
    """The model answered but no valid result could be made of it.

    ``attempts`` holds every answer with its problems, in order, so a caller
    can see exactly what the model said; ``last_raw`` and ``errors`` are the
    final answer and its validation errors.
    """

    def __init__(self, message: str, *, attempts: list[AttemptRecord]) -> None:
        super().__init__(message)
        self.attempts = attempts

    @property
    def last_raw(self) -> str | None:
        return self.attempts[-1].raw if self.attempts else None

    @property
    def errors(self) -> list[str]:
        return list(self.attempts[-1].problems) if self.attempts else []


class TruncatedOutputError(ExtractionError):
    """The answer was cut off at the token limit; it is never used as a result."""


class ValidationFailedError(ExtractionError):
    """The answer stayed invalid after deterministic repair and every re-ask."""


class RefusalError(ExtractionError):
    """The model refused to answer."""


class EmptyResponseError(ExtractionError):
    """The server answered without any choice or content."""


class NoDealFound(LLMExtractError):
    """The article reports no deal. ``result`` is the (empty) article result."""

    def __init__(self, message: str, *, result: object) -> None:
        super().__init__(message)
        self.result = result
