"""llm_extract: typed, verified records of the business deals in news text.

>>> from llm_extract import extract_deal
>>> deal = extract_deal(article_text)          # doctest: +SKIP

Everything importable from here is the public API, and the README documents
it. The subpackages are the implementation: their names may change between
releases (``llm_extract.scale.distributed``, which needs the ``ray`` extra, is
the one documented exception).
"""

from .backends.base import Backend
from .core.api import aextract, aextract_deal, aextract_deals, extract, extract_deal, extract_deals
from .core.pipeline import CallReport, Report
from .errors import (
    BackendError,
    ConfigurationError,
    DeadlineExceededError,
    EmptyResponseError,
    ExtractionError,
    InputError,
    LLMExtractError,
    NoDealFound,
    OutputInUseError,
    ProviderBatchError,
    RefusalError,
    TruncatedOutputError,
    ValidationFailedError,
)
from .grounding.verify import Dropped, Evidence
from .records.schemas import (
    ArticleDeals,
    Company,
    Deal,
    DealType,
    Money,
    Party,
    Person,
    Quantity,
    Role,
)
from .scale.batch import arun_batch, run_batch
from .scale.batch_apis import BatchStatus
from .scale.documents import BatchSummary
from .scale.provider_batch import run_provider_batch
from .settings import Settings

__all__ = [
    "ArticleDeals",
    "Backend",
    "BackendError",
    "BatchStatus",
    "BatchSummary",
    "CallReport",
    "Company",
    "ConfigurationError",
    "DeadlineExceededError",
    "Deal",
    "DealType",
    "Dropped",
    "EmptyResponseError",
    "Evidence",
    "ExtractionError",
    "InputError",
    "LLMExtractError",
    "Money",
    "NoDealFound",
    "OutputInUseError",
    "Party",
    "Person",
    "ProviderBatchError",
    "Quantity",
    "RefusalError",
    "Report",
    "Role",
    "Settings",
    "TruncatedOutputError",
    "ValidationFailedError",
    "aextract",
    "aextract_deal",
    "aextract_deals",
    "arun_batch",
    "extract",
    "extract_deal",
    "extract_deals",
    "run_batch",
    "run_provider_batch",
]
