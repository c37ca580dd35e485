"""The base of every configuration model: unknown keys are errors, values are frozen."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Pair = Annotated[tuple[float, float], Field(description="two numbers: [x, y]")]


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid."""


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
