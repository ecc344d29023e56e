"""Every command idkarr understands, described once (see registry.py for what each field means).

Options are listed in the order a person types them. Discord wants required options before optional
ones; its adapter reorders, the typed order stays this one.
"""

from __future__ import annotations

import re

from bots.conversation import account_commands, discovery_commands, request_commands
from bots.conversation.context import CONTENT_ALIASES
from bots.conversation.registry import Audience, Command, Completion, Option, OptionKind, Registry
from core.enums import ContentType, WatchlistType
from core.services.requests import MAX_REASON

__all__ = ["COMMANDS", "usage"]

_CONTENT = (ContentType.MOVIE.value, ContentType.SERIES.value, ContentType.ANIME.value)
_SEASONS = re.compile(r"(?:all|\d{1,4}(?:-\d{1,4})?(?:,\d{1,4}(?:-\d{1,4})?)*)", re.IGNORECASE)
_TYPE = Option("type", OptionKind.CHOICE, choices=_CONTENT, aliases=CONTENT_ALIASES)
_TITLE = Option("title", required=True, rest=True, completion=Completion.TITLE, max_length=200)
_ID = Option("id", OptionKind.INTEGER, required=True, completion=Completion.REQUEST)

COMMANDS = Registry(
    [
        Command("help", None, audience=Audience.ANYONE),
        # Telegram opens a chat with /start, and a deep link adds its payload: a link code.
        Command("start", None, (Option("code", max_length=64),), audience=Audience.GUEST),
        Command("link", None, (Option("code", required=True, max_length=64),), audience=Audience.GUEST),
        Command("register", None, audience=Audience.GUEST),
        Command(
            "search",
            discovery_commands.search,
            (Option("query", required=True, rest=True, completion=Completion.TITLE, max_length=200),),
        ),
        Command(
            "discover",
            discovery_commands.discover,
            (
                Option(
                    "kind",
                    OptionKind.CHOICE,
                    choices=(*discovery_commands.LISTS, *discovery_commands.RELATED),
                    aliases={"top": "top-rated", "toprated": "top-rated", "top_rated": "top-rated"},
                ),
                Option("content", OptionKind.CHOICE, choices=(*_CONTENT, "all"), aliases=CONTENT_ALIASES),
                Option("title", rest=True, completion=Completion.TITLE, max_length=200),
            ),
        ),
        Command(
            "request",
            request_commands.request,
            (_TYPE, _TITLE, Option("seasons", trailing=_SEASONS, max_length=100)),
        ),
        Command(
            "requests",
            request_commands.list_,
            (Option("filter", OptionKind.CHOICE, choices=request_commands.FILTERS),),
        ),
        Command(
            "approve",
            request_commands.approve,
            (
                _ID,
                Option("instance", keyword=True, max_length=100),
                Option("profile", keyword=True, max_length=100),
                Option("folder", keyword=True, max_length=300),
            ),
            audience=Audience.MODERATOR,
        ),
        Command(
            "deny",
            request_commands.deny,
            (_ID, Option("reason", rest=True, max_length=MAX_REASON)),
            audience=Audience.MODERATOR,
        ),
        Command("cancel", request_commands.cancel, (_ID,)),
        Command("edit", request_commands.edit, (_ID, Option("seasons", required=True, rest=True, max_length=100))),
        Command("retry", request_commands.retry, (_ID,), audience=Audience.MODERATOR),
        Command("details", request_commands.details, (_ID,)),
        Command(
            "watchlist",
            account_commands.watchlist,
            (
                Option("action", OptionKind.CHOICE, choices=account_commands.WATCHLIST_ACTIONS),
                _TYPE,
                Option("title", completion=Completion.TITLE, max_length=200),
                Option("list", OptionKind.CHOICE, choices=tuple(kind.value for kind in WatchlistType)),
                Option("season", OptionKind.INTEGER),
                Option("episode", OptionKind.INTEGER),
                Option("rating", max_length=5),
                Option("review", max_length=2000),
                Option("user", max_length=64),
            ),
            parse=account_commands.parse_watchlist,
        ),
        Command(
            "activity",
            account_commands.activity,
            (Option("type", rest=True, max_length=40),),
        ),
        Command("quota", account_commands.quota),
        Command(
            "settings",
            account_commands.settings,
            (
                Option("setting", OptionKind.CHOICE, choices=account_commands.SETTINGS),
                Option("name", max_length=20),
                Option("state", OptionKind.CHOICE, choices=("on", "off")),
            ),
        ),
    ]
)


def usage(command: Command) -> str:
    """`/request [movie|series|anime] TITLE [SEASONS]`, from the command's options."""
    parts = [f"/{command.name}"]
    if command.name == "watchlist":
        return "/watchlist [list NAME | add TITLE [LIST] | set TITLE CHANGE | remove TITLE]"
    for option in command.options:
        if option.keyword:
            shown = f"{option.name}:{option.name.upper()}"
        elif option.kind == OptionKind.CHOICE and len(option.choices) <= 4:
            shown = "|".join(option.choices)
        else:
            shown = option.name.upper()
        parts.append(shown if option.required else f"[{shown}]")
    return " ".join(parts)
