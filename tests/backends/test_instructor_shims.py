"""Tests for llm_extract.backends.instructor_shims: instructor's async-validator
check runs once per class, and still refuses what it refused."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from instructor.v2.validation import async_validators
from pydantic import BaseModel

from llm_extract.backends.instructor_shims import install, remembering


class Plain(BaseModel):
    name: str


class WithAsyncCheck(BaseModel):
    name: str

    @async_validators.async_field_validator("name")
    async def check_name(self, value: str) -> str:
        return value


def test_a_class_that_passed_is_not_walked_again() -> None:
    walked: list[Any] = []

    def check(model: Any) -> None:
        walked.append(model)
        if model is WithAsyncCheck:
            raise ValueError("async validators")

    remembered = remembering(check)
    for _ in range(3):
        remembered(Plain)
        remembered(list[Plain])
    assert walked == [Plain, list[Plain], list[Plain], list[Plain]]
    for _ in range(2):
        with pytest.raises(ValueError):
            remembered(WithAsyncCheck)
    assert walked.count(WithAsyncCheck) == 2


def test_install_wraps_instructors_check_everywhere_it_is_held_once() -> None:
    install()
    install()
    wrapped = async_validators.reject_async_validators
    assert getattr(wrapped, "__llm_extract_remembers__", False)
    holders = [m for n, m in sys.modules.items() if n.startswith("instructor")]
    held = [getattr(m, "reject_async_validators", None) for m in holders]
    assert all(h is wrapped for h in held if h is not None)
    wrapped(Plain)
    wrapped(Plain)
    for _ in range(2):
        with pytest.raises(ValueError, match="async validators are not supported"):
            wrapped(WithAsyncCheck)
