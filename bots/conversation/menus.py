"""The command menus platforms show, generated from the command registry: Discord's application commands
(the JSON `PUT /applications/{id}/commands` takes) and Telegram's setMyCommands lists, in every language."""

from __future__ import annotations

from typing import Any

from bots.conversation.catalog import ENGLISH, Messages, languages
from bots.conversation.commands import COMMANDS
from bots.conversation.registry import Audience, Command, Option, OptionKind
from bots.conversation.replies import trim

__all__ = ["DISCORD_LOCALES", "discord_commands", "telegram_commands"]

# Discord names locales by region where Telegram and idkarr use the bare language.
DISCORD_LOCALES = {"es": "es-ES"}
_DISCORD_DESCRIPTION = 100
_TELEGRAM_DESCRIPTION = 256
# Discord's application command option types.
_STRING, _INTEGER = 3, 4


def _option_key(command: Command, option: Option) -> str:
    specific = f"option.{command.name}.{option.name}"
    return specific if specific in ENGLISH else f"option.{option.name}"


def _localized(key: str) -> dict[str, str]:
    return {
        DISCORD_LOCALES.get(language, language): trim(Messages(language)(key), _DISCORD_DESCRIPTION)
        for language in languages()
        if language != "en"
    }


def _discord_option(command: Command, option: Option) -> dict[str, Any]:
    key = _option_key(command, option)
    described: dict[str, Any] = {
        "type": _INTEGER if option.kind == OptionKind.INTEGER else _STRING,
        "name": option.name,
        "description": trim(ENGLISH[key], _DISCORD_DESCRIPTION),
        "description_localizations": _localized(key),
        "required": option.required,
    }
    if option.kind == OptionKind.CHOICE:
        described["choices"] = [{"name": choice, "value": choice} for choice in option.choices]
    elif option.completion is not None:
        described["autocomplete"] = True
    if option.kind == OptionKind.INTEGER:
        described["min_value"] = 0
    else:
        described["max_length"] = option.max_length
    return described


def discord_commands() -> list[dict[str, Any]]:
    """Every command a Discord member can use, as slash commands, and /link and /register for people not
    linked yet (what the refusal to someone unlinked tells them to send); /start is Telegram's."""
    made = []
    for command in COMMANDS:
        if command.audience == Audience.GUEST and command.name == "start":
            continue
        options = [_discord_option(command, option) for option in command.options]
        # Discord wants required options before optional ones; a typed line keeps the registry's order.
        options.sort(key=lambda option: not option["required"])
        made.append(
            {
                "name": command.name,
                "type": 1,
                "description": trim(ENGLISH[f"command.{command.name}"], _DISCORD_DESCRIPTION),
                "description_localizations": _localized(f"command.{command.name}"),
                "options": options,
                # In servers and in DMs with the bot; who may run what is idkarr's rule, checked as it runs.
                "contexts": [0, 1],
            }
        )
    return made


def telegram_commands(language: str, audience: Audience) -> list[dict[str, str]]:
    """setMyCommands' `commands` for one language and audience (Telegram shows at most 100)."""
    t = Messages(language)
    return [
        {"command": command.name, "description": trim(t(f"command.{command.name}"), _TELEGRAM_DESCRIPTION)}
        for command in COMMANDS.visible_to(audience)
    ][:100]
