"""Every refusal core raises can be said in any language: it has a code, and translations fit its values."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bots.conversation.catalog import CATALOGS, Messages
from core.enums import ChatPlatform
from core.errors import DomainError, InvalidInput, NotAllowed
from core.services.identity import NotLinked

_REFUSALS = {
    "NotFound",
    "AlreadyExists",
    "InvalidInput",
    "NotAllowed",
    "QuotaExceeded",
    "AlreadyDecided",
    "AlreadyAvailable",
}


def _codes(expression: ast.expr) -> list[str]:
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return [expression.value]
    if isinstance(expression, ast.IfExp):
        return _codes(expression.body) + _codes(expression.orelse)
    raise AssertionError(f"a refusal code must be literal, not {ast.unparse(expression)}")


def _raised() -> dict[str, set[str]]:
    """code -> the values every raise of it names (the intersection, so a translation fits them all)."""
    found: dict[str, set[str]] = {}
    # The conversation layer refuses malformed commands and unknown titles with codes of its own.
    for source in [*Path("core").rglob("*.py"), *Path("bots/conversation").rglob("*.py")]:
        for node in ast.walk(ast.parse(source.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _REFUSALS):
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
            where = f"{source}:{node.lineno}"
            assert "code" in keywords, f"{where} raises a refusal without a code"
            template = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            assert isinstance(template, str), f"{where}: the template must be literal"
            named = set(keywords) - {"code"}
            fields = {field for _, field, _, _ in string.Formatter().parse(template) if field}
            assert fields <= named, f"{where}: the template uses {fields - named} it is not given"
            for code in _codes(keywords["code"]):
                found[code] = found.get(code, named) & named
    return found


def test_every_refusal_in_core_has_a_code_and_its_template_is_complete() -> None:
    codes = _raised()
    assert len(codes) > 60
    assert {"permission.denied", "request.decided_by", "quota.open", "seasons.unknown"} <= set(codes)


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_translations_name_known_codes_and_only_their_values(language: str) -> None:
    codes = _raised()
    codes |= {f"not_linked.{policy}": {"platform"} for policy in ("open", "approval", "closed")}
    for key, template in CATALOGS[language].items():
        if not key.startswith("refusal."):
            continue
        code = key.removeprefix("refusal.")
        assert code in codes, f"{language}: {key} translates a code core never raises"
        fields = {field.split("!")[0] for _, field, _, _ in string.Formatter().parse(template) if field}
        assert fields <= codes[code], f"{language}: {key} names {fields - codes[code]}"


def test_a_refusal_reads_in_the_readers_language_and_english_is_cores_sentence() -> None:
    refused = NotAllowed(
        "{name} ({role}) may not {what}", code="permission.denied", name="vic", role="viewer", what="x"
    )
    assert Messages("en").refusal(refused) == "Sorry: vic (viewer) may not x."
    assert Messages("es").refusal(refused) == "Lo siento: vic (viewer) no tiene permiso para esto."
    unlinked = NotLinked(platform=ChatPlatform.TELEGRAM, registration="closed")
    assert Messages("es").reason(unlinked).startswith("esta cuenta de Telegram")
    assert "ask an admin for a link code" in Messages("en").reason(unlinked)
    # Text a front end wrote in the reader's words already (no code) is passed through.
    assert Messages("es").reason(InvalidInput("ya traducido")) == "ya traducido"
    # A template with braces the values do not fill never breaks the reply.
    odd = DomainError("{missing}", code="permission.denied")
    assert Messages("es").reason(odd) == "{missing}"
