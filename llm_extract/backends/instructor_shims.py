"""The one place we change how instructor behaves, and why.

instructor 1.17 refuses response models that declare its asynchronous
validators, which its runtime does not run, by walking the model's classes:
every attribute of every class in their MRO, pydantic's ``BaseModel`` among
them. It does this five times per call, for the same class every time, and
it is about 8% of this library's CPU per document against a zero-latency
server (py-spy, ``bench/cpu_pairs.py``). :func:`install` makes the walk run
once per class: a class that passed is remembered and not walked again, and a
class that fails still fails on every call. A class that gains an async
validator after its first call is not seen; nobody builds classes that way.

Only instructor's own function is wrapped, in the modules that hold it; if a
release renames or moves it, :func:`install` changes nothing.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

_MODULE = "instructor.v2.validation.async_validators"
_NAME = "reject_async_validators"
_MARK = "__llm_extract_remembers__"


def remembering(check: Callable[[Any], None]) -> Callable[[Any], None]:
    """``check`` (which raises for a bad model) that skips a pydantic model class
    it has already passed. Anything else (unions, lists, instances) is checked
    every time."""
    passed: weakref.WeakSet[type[BaseModel]] = weakref.WeakSet()

    def remembered(response_model: Any) -> None:
        remember = isinstance(response_model, type) and issubclass(response_model, BaseModel)
        if remember and response_model in passed:
            return
        check(response_model)
        if remember:
            passed.add(response_model)

    setattr(remembered, _MARK, True)
    return remembered


def install() -> None:
    """Wrap instructor's async-validator check with :func:`remembering`, once."""
    home = sys.modules.get(_MODULE)
    if home is None:
        try:
            __import__(_MODULE)
        except ImportError:
            return
        home = sys.modules[_MODULE]
    original = getattr(home, _NAME, None)
    if original is None or getattr(original, _MARK, False):
        return
    wrapped = remembering(original)
    for name, module in list(sys.modules.items()):
        if name.startswith("instructor") and getattr(module, _NAME, None) is original:
            setattr(module, _NAME, wrapped)
