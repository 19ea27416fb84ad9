"""Reading the command line's ``--config`` values as the types the schema expects.

Snakemake parses ``--config key=value`` with int, float and ``True``/``False``, but nested values
(``studies="{baselines: {enabled: false}}"``) with YAML's BaseLoader, which keeps every scalar a
string, and ``download=true`` (lower case) stays a string too. Scalars that spell a boolean, an
integer or null are converted before validation, so the documented spellings all work.
"""

from __future__ import annotations

import re

_BOOLEANS = {"true": True, "false": False}


def _scalar(value):
    if not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    if lowered in _BOOLEANS:
        return _BOOLEANS[lowered]
    if lowered in {"null", "none", "~"}:
        return None
    if re.fullmatch(r"[+-]?\d+", lowered):
        return int(lowered)
    return value


def coerce_cli_strings(config: dict) -> dict:
    """Convert, in place, string scalars that spell booleans, integers or null."""
    for key, value in list(config.items()):
        if isinstance(value, dict):
            coerce_cli_strings(value)
        elif isinstance(value, list):
            config[key] = [_scalar(item) for item in value]
        else:
            config[key] = _scalar(value)
    return config
