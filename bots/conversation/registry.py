"""Commands as data: every command's name, options and audience, described once.

Discord's slash commands, Telegram's command menu and the console's /help are generated from these
descriptions. A front end with typed options (a Discord slash command) hands them to `Conversation.run`
as they are; a line of text (console, Telegram) is parsed once, here, into the same options.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from core.errors import InvalidInput
from core.text import clean_text

if TYPE_CHECKING:
    from bots.conversation.context import Context
    from bots.conversation.replies import Reply

__all__ = [
    "MAX_TEXT_OPTION",
    "Arguments",
    "Audience",
    "Command",
    "Completion",
    "Option",
    "OptionKind",
    "Registry",
]

# No title, reason or name a person types needs more; Discord caps a string option at 6000 and a modal at 4000.
MAX_TEXT_OPTION = 500
# A whole number people type: request ids, seasons, pages.
_MAX_DIGITS = 9


class OptionKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    CHOICE = "choice"


class Completion(StrEnum):
    """Where an option's autocomplete suggestions come from."""

    TITLE = "title"  # titles, from the shared discovery cache
    REQUEST = "request"  # open requests the person may act on


class Audience(StrEnum):
    """Who a command is shown to (every command still checks permission when it runs)."""

    ANYONE = "anyone"  # also people not linked to idkarr yet
    GUEST = "guest"  # only people not linked yet (linking, signing up)
    MEMBER = "member"
    MODERATOR = "moderator"


@dataclass(frozen=True)
class Option:
    name: str
    kind: OptionKind = OptionKind.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    # Words people type for a choice ("tv" for series): accepted in text and typed input alike.
    aliases: Mapping[str, str] = field(default_factory=dict)
    completion: Completion | None = None
    # In a typed line: the rest of the line rather than one word.
    rest: bool = False
    # In a typed line: taken from the end of the line when its last word has this shape (seasons after a title).
    trailing: re.Pattern[str] | None = None
    # In a typed line: written as NAME:VALUE anywhere (quoted when the value has spaces).
    keyword: bool = False
    max_length: int = MAX_TEXT_OPTION

    def accepts(self, word: str) -> str | None:
        """`word` as this choice option's value, or None when it is not one of its choices."""
        lowered = word.strip().lower()
        lowered = self.aliases.get(lowered, lowered)
        return lowered if lowered in self.choices else None


Runner = Callable[["Context", "Arguments"], Awaitable["Reply"]]
TextParser = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class Command:
    """One command. Its summary, usage and option descriptions are catalog keys (`command.NAME`,
    `usage.NAME`, `option.NAME.OPTION`), so every language describes it."""

    name: str
    run: Runner | None
    options: tuple[Option, ...] = ()
    audience: Audience = Audience.MEMBER
    # A command whose typed form is not positional words (watchlist, settings) parses its own line.
    parse: TextParser | None = None

    def option(self, name: str) -> Option | None:
        return next((option for option in self.options if option.name == name), None)


class Arguments:
    """A command's options after validation: text options are clean strings, integers are ints."""

    def __init__(self, values: Mapping[str, str | int]) -> None:
        self._values = dict(values)

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        return value if isinstance(value, int) else None

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def as_dict(self) -> dict[str, str | int]:
        return dict(self._values)


class Registry:
    def __init__(self, commands: Sequence[Command]) -> None:
        self._commands = {command.name: command for command in commands}

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def visible_to(self, audience: Audience) -> list[Command]:
        """What to list for someone: anyone sees ANYONE, members also MEMBER, moderators everything."""
        shown = {
            Audience.ANYONE: {Audience.ANYONE, Audience.GUEST},
            Audience.GUEST: {Audience.ANYONE, Audience.GUEST},
            Audience.MEMBER: {Audience.ANYONE, Audience.MEMBER},
            Audience.MODERATOR: {Audience.ANYONE, Audience.MEMBER, Audience.MODERATOR},
        }[audience]
        return [command for command in self._commands.values() if command.audience in shown]

    # --- one line of text into options ----------------------------------------------------------------

    def parse(self, command: Command, line: str) -> dict[str, str]:
        """The options of `/command line`, as strings; validation is `arguments`' job."""
        if command.parse is not None:
            return command.parse(line)
        values: dict[str, str] = {}
        words = line.split()
        keywords = {option.name for option in command.options if option.keyword}
        if keywords:
            words = _keyword_words(line)
            kept: list[str] = []
            for word in words:
                key, colon, value = word.partition(":")
                if colon and key.lower() in keywords:
                    if key.lower() in values:
                        raise InvalidInput("{name}: is given twice", code="option.repeated", name=key.lower())
                    if not value.strip():
                        raise InvalidInput("{name}: needs a value", code="option.empty", name=key.lower())
                    values[key.lower()] = value
                else:
                    kept.append(word)
            words = kept
        positional = [option for option in command.options if not option.keyword]
        for index, option in enumerate(positional):
            if not words:
                break
            if option.rest:
                tail = _take_trailing(positional[index + 1 :], words, values)
                if tail is not None:
                    words = tail
                values[option.name] = " ".join(words)
                words = []
                break
            if option.kind == OptionKind.CHOICE and not option.required and option.accepts(words[0]) is None:
                continue  # an optional choice not given: the word belongs to the next option
            values[option.name] = words.pop(0)
        if words:
            raise InvalidInput(
                "{value!r} is more than /{command} takes",
                code="option.extra",
                value=" ".join(words)[:40],
                command=command.name,
            )
        return values

    # --- validation, the same for typed and parsed options -----------------------------------------------

    def arguments(self, command: Command, given: Mapping[str, object]) -> Arguments:
        """Options checked against the command's description: a clear refusal for anything else."""
        values: dict[str, str | int] = {}
        for name in given:
            if command.option(name) is None:
                raise InvalidInput(
                    "/{command} has no option {name!r}",
                    code="option.unknown_name",
                    command=command.name,
                    name=str(name)[:40],
                )
        for option in command.options:
            raw = given.get(option.name)
            if raw is None or (isinstance(raw, str) and not clean_text(raw)):
                if option.required:
                    raise InvalidInput(
                        "/{command} needs {name}", code="option.missing", command=command.name, name=option.name
                    )
                continue
            values[option.name] = _value(command, option, raw)
        return Arguments(values)


def _value(command: Command, option: Option, raw: object) -> str | int:
    if option.kind == OptionKind.INTEGER:
        if isinstance(raw, bool):
            raise InvalidInput(
                "{value!r} is not a number for {name}", code="option.integer", value=str(raw), name=option.name
            )
        if isinstance(raw, int):
            number = raw
        else:
            text = clean_text(str(raw)).lstrip("#")
            if not text.isdigit() or len(text) > _MAX_DIGITS:
                raise InvalidInput(
                    "{value!r} is not a number for {name}", code="option.integer", value=str(raw)[:20], name=option.name
                )
            number = int(text)
        if not 0 <= number < 10**_MAX_DIGITS:
            raise InvalidInput(
                "{value} is out of range for {name}", code="option.range", value=number, name=option.name
            )
        return number
    text = clean_text(str(raw))
    if len(text) > option.max_length:
        raise InvalidInput(
            "{name} is too long ({length} characters; the most is {most})",
            code="option.too_long",
            name=option.name,
            length=len(text),
            most=option.max_length,
        )
    if option.kind == OptionKind.CHOICE:
        chosen = option.accepts(text)
        if chosen is None:
            raise InvalidInput(
                "{value!r} is not a choice for {name}; choose one of {choices}",
                code="choice",
                value=text[:40],
                name=option.name,
                noun=option.name,
                choices=", ".join(option.choices),
            )
        return chosen
    return text


def _keyword_words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        raise InvalidInput("a quote is not closed", code="option.quote") from None


def _take_trailing(after: Sequence[Option], words: list[str], values: dict[str, str]) -> list[str] | None:
    """Options after a rest option whose shape is recognisable at the end of the line (seasons after a title):
    taken from the end when enough is left for the rest option. Returns the words left, or None."""
    if not after or len(words) < 2:
        return None
    option = after[0]
    if option.trailing is None or not option.trailing.fullmatch(words[-1]):
        return None
    values[option.name] = words[-1]
    return words[:-1]
