"""Errors that name the problem: the config key, file, checksum or dataset at fault."""

from __future__ import annotations


class EffreproError(Exception):
    """Base class of every error the suite raises on bad input or bad data."""


class ConfigError(EffreproError):
    """A config value that is wrong: names the key, the value and what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config key '{key}': got {value!r}; allowed: {allowed}")


class DataError(EffreproError):
    """A dataset that cannot be fetched or read."""


class ChecksumError(DataError):
    """A file whose checksum (SHA-256, or md5 where only that is published) differs from the registry's
    (the file has been deleted)."""

    def __init__(self, path, expected: str, actual: str, algorithm: str = "sha256"):
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"checksum mismatch for {path}: expected {algorithm} {expected}, got {actual} (file deleted)"
        )


class TrainingDiverged(EffreproError):
    """A NaN or infinite loss: names the run and the step."""

    def __init__(self, run: str, step: int, loss: float):
        super().__init__(f"run {run}: loss became {loss} at step {step}")
