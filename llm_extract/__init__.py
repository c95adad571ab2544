"""llm_extract: typed, verified records of the business deals in news text.

>>> from llm_extract import extract_deal
>>> deal = extract_deal(article_text)          # doctest: +SKIP

Everything importable from here is the public API; other modules are private.
"""

from .api import aextract, aextract_deal, aextract_deals, extract, extract_deal, extract_deals
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
    RefusalError,
    TruncatedOutputError,
    ValidationFailedError,
)
from .grounding import Dropped, Evidence
from .pipeline import CallReport, Report
from .schemas import ArticleDeals, Company, Deal, DealType, Money, Party, Person, Role
from .settings import Settings

__all__ = [
    "ArticleDeals",
    "BackendError",
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
    "RefusalError",
    "Report",
    "Role",
    "Settings",
    "TruncatedOutputError",
    "ValidationFailedError",
    "aextract",
    "aextract_deal",
    "aextract_deals",
    "extract",
    "extract_deal",
    "extract_deals",
]
