"""config.example.toml is the operator's reference: it must name every key with its true default."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.config import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def _sections(text: str) -> dict[str, str]:
    """Each section's text (commented lines included), keyed by section name ("" for the top)."""
    parts: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        if header:
            current = header.group(1)
            continue
        parts[current] = parts.get(current, "") + line + "\n"
    return parts


def test_every_setting_is_documented_in_its_section() -> None:
    sections = _sections(EXAMPLE.read_text())
    for key in _keys(Settings):
        section, _, name = key.rpartition(".")
        assert re.search(rf"^#? ?{name} = ", sections.get(section, ""), re.MULTILINE), key


def test_values_written_in_the_example_are_the_defaults() -> None:
    written: dict[str, Any] = tomllib.loads(EXAMPLE.read_text())
    defaults = Settings().model_dump()
    for section, values in written.items():
        for name, value in values.items():
            assert defaults[section][name] == value, f"{section}.{name}"


def test_the_example_loads_as_a_valid_configuration() -> None:
    from core.config import load_settings

    settings = load_settings(EXAMPLE)
    assert settings.tmdb.rate_limit == 40
