"""A fake Discord on 127.0.0.1, REST (API v10) and gateway, driven by the real discord.py.

REST answers with the shapes Discord's API documentation gives (users, applications, commands, messages,
DM channels, interaction callbacks with `?with_response=1`, webhook followups and @original edits), JSON
with `Content-Type: application/json` exactly. The gateway speaks plain-JSON text frames: HELLO, IDENTIFY,
heartbeats and their ACKs, READY and GUILD_CREATE, then the INTERACTION_CREATE events a test pushes.

It keeps Discord's rules: an interaction answered after 3 s is dead (404, 10062), a second first answer is
refused (400, 40060), a DM to someone whose DMs are closed is refused (403, 50007), and a route can be made to
answer 429 with retry_after. Every outgoing payload is checked against Discord's limits; a breach is
answered 400 as Discord does and kept in `violations` for the test to assert on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from .fakes import json_response

TOKEN = "MTAxNzQ1.fake-discord.secret-token"
APP_ID = 4242000000000001
BOT_ID = 4242000000000002
GUILD = 5151000000000001
GENERAL, MODERATORS, ANNOUNCE, FALLBACK, MOVIES = (
    5151000000000011,
    5151000000000012,
    5151000000000013,
    5151000000000014,
    5151000000000015,
)
MOD_ROLE = 5151000000000101
DEADLINE = 3.0
EPHEMERAL = 64

BOT_USER = {
    "id": str(BOT_ID),
    "username": "idkarr",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
_NAME = re.compile(r"^[-_\w]{1,32}$")


def user_object(user_id: int, name: str) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name.title(), "avatar": None}


@dataclass
class Posted:
    """A message the bot sent or edited, as the fake keeps it."""

    via: str  # channel, callback, followup, original (an @original edit), edit (a channel message edit)
    channel_id: int
    message_id: int
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    ephemeral: bool = False
    interaction: int | None = None
    mentions: list[str] = field(default_factory=list)

    def _items(self) -> list[dict[str, Any]]:
        return [item for row in self.components for item in row.get("components", [])]

    @property
    def labels(self) -> list[str]:
        return [item["label"] for item in self._items() if item.get("type") == 2]

    def custom_id(self, label: str) -> str:
        buttons = [item for item in self._items() if item.get("type") == 2]
        return str(next(item["custom_id"] for item in buttons if item["label"] == label))

    @property
    def options(self) -> list[str]:
        return [option["label"] for item in self._items() if item.get("type") == 3 for option in item["options"]]

    def option(self, label: str) -> tuple[str, str]:
        """(the select's custom_id, the option's value) for the option labelled `label`."""
        for item in self._items():
            for option in item.get("options", []):
                if option["label"] == label:
                    return item["custom_id"], option["value"]
        raise KeyError(label)


@dataclass
class Callback:
    interaction: int
    type: int
    data: dict[str, Any]
    late: bool
    seconds: float  # from INTERACTION_CREATE sent to the callback's arrival
    at: float  # the event loop's time when it arrived


@dataclass
class _Interaction:
    id: int
    token: str
    channel_id: int
    sent_at: float
    answered: bool = False
    original: int | None = None  # the message @original names
    ephemeral: bool = False


@dataclass
class FakeDiscord:
    port: int = 0
    token: str = TOKEN
    messages: list[Posted] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # scope -> registered commands
    command_puts: int = 0
    violations: list[str] = field(default_factory=list)
    closed_dms: set[int] = field(default_factory=set)
    # route substring -> (retry_after, global) answered 429 once
    rate_limits: list[tuple[str, float, bool]] = field(default_factory=list)
    limited: list[str] = field(default_factory=list)
    identifies: int = 0
    heartbeats: int = 0
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(9_000_000_000_000_001)
        self._interactions: dict[int, _Interaction] = {}
        self._by_token: dict[str, _Interaction] = {}
        self._dm_channels: dict[int, int] = {}  # channel -> user
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self._changed = asyncio.Condition()
        self._message_objects: dict[int, dict[str, Any]] = {}

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- what a test does as people on Discord -----------------------------------------------------------

    @property
    def connected(self) -> int:
        return len([socket for socket in self._sockets if not socket.closed])

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        frame = json.dumps({"op": 0, "s": next(self._sequence), "t": event, "d": data})
        live = [socket for socket in self._sockets if not socket.closed]
        assert live, "nobody is connected to the gateway"
        for socket in live:
            await socket.send_str(frame)

    def _who(self, user_id: int, name: str, guild: bool, roles: list[int]) -> dict[str, Any]:
        user = user_object(user_id, name)
        if guild:
            member = {"user": user, "roles": [str(role) for role in roles], "flags": 0, "joined_at": _now()}
            return {"guild_id": str(GUILD), "member": member, "guild_locale": "en-US"}
        return {"user": user}

    async def _interact(
        self,
        kind: int,
        user_id: int,
        name: str,
        data: dict[str, Any],
        *,
        channel: int | None,
        roles: list[int] | None = None,
        message: Posted | None = None,
        locale: str = "en-US",
    ) -> int:
        guild = channel is not None
        channel_id = channel if channel is not None else self._dm_of(user_id)
        interaction_id = next(self._ids)
        token = f"tok{interaction_id}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "attachment_size_limit": 8388608,
            "locale": locale,
            "app_permissions": "2147483647",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD)} if guild else {"1": str(user_id)},
            "context": 0 if guild else 1,
            "channel_id": str(channel_id),
            "channel": {"id": str(channel_id), "type": 0 if guild else 1},
            "data": data,
            **self._who(user_id, name, guild, roles or []),
        }
        if message is not None:
            payload["message"] = self._message_objects[message.message_id]
        entry = _Interaction(interaction_id, token, channel_id, time.monotonic())
        if message is not None:
            entry.original = message.message_id
            entry.ephemeral = message.ephemeral
        self._interactions[interaction_id] = entry
        self._by_token[token] = entry
        await self._dispatch("INTERACTION_CREATE", payload)
        return interaction_id

    async def command(
        self,
        user_id: int,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        channel: int | None = GENERAL,
        person: str = "person",
        roles: list[int] | None = None,
        locale: str = "en-US",
    ) -> int:
        """A slash command, in a server channel (or a DM with channel=None)."""
        given = [
            {"name": key, "type": 4 if isinstance(value, int) else 3, "value": value}
            for key, value in (options or {}).items()
        ]
        data = {"id": "1", "name": name, "type": 1, "options": given}
        return await self._interact(2, user_id, person, data, channel=channel, roles=roles, locale=locale)

    async def autocomplete(
        self, user_id: int, name: str, option: str, typed: str, *, person: str = "person", integer: bool = False
    ) -> int:
        focused = {"name": option, "type": 4 if integer else 3, "value": typed, "focused": True}
        data = {"id": "1", "name": name, "type": 1, "options": [focused]}
        return await self._interact(4, user_id, person, data, channel=GENERAL)

    async def press(
        self, user_id: int, message: Posted, label: str, *, person: str = "person", roles: list[int] | None = None
    ) -> int:
        data = {"custom_id": message.custom_id(label), "component_type": 2}
        channel = self._channel_of(message)
        return await self._interact(3, user_id, person, data, channel=channel, roles=roles, message=message)

    async def pick(self, user_id: int, message: Posted, option: str, *, person: str = "person") -> int:
        select, value = message.option(option)
        data = {"custom_id": select, "component_type": 3, "values": [value]}
        return await self._interact(3, user_id, person, data, channel=self._channel_of(message), message=message)

    async def submit(
        self,
        user_id: int,
        modal: Callback,
        text: str,
        *,
        message: Posted | None,
        person: str = "person",
        roles: list[int] | None = None,
    ) -> int:
        """Fill in the modal `modal` opened (its one text input) and submit it."""
        rows = []
        for component in modal.data["components"]:
            if component["type"] == 18:  # a label around an input
                inner = component["component"]
                rows.append({"type": 18, "component": {"type": 4, "custom_id": inner["custom_id"], "value": text}})
            else:
                inner = component["components"][0]
                rows.append({"type": 1, "components": [{"type": 4, "custom_id": inner["custom_id"], "value": text}]})
        data = {"custom_id": modal.data["custom_id"], "components": rows}
        channel = self._channel_of(message) if message is not None else GENERAL
        return await self._interact(5, user_id, person, data, channel=channel, roles=roles, message=message)

    def _channel_of(self, message: Posted) -> int | None:
        return None if message.channel_id in self._dm_channels else message.channel_id

    def _dm_of(self, user_id: int) -> int:
        for channel, user in self._dm_channels.items():
            if user == user_id:
                return channel
        channel = next(self._ids)
        self._dm_channels[channel] = user_id
        return channel

    def dm_channel(self, user_id: int) -> int:
        return self._dm_of(user_id)

    async def wait_for(self, check: Callable[[Posted], bool], *, after: int = 0, within: float = 15) -> Posted:
        async with asyncio.timeout(within), self._changed:
            while True:
                for posted in self.messages[after:]:
                    if check(posted):
                        return posted
                await self._changed.wait()

    async def callback(self, interaction: int, *, within: float = 15) -> Callback:
        async with asyncio.timeout(within), self._changed:
            while True:
                for answer in self.callbacks:
                    if answer.interaction == interaction:
                        return answer
                await self._changed.wait()

    async def reply_to(self, interaction: int, *, within: float = 15) -> Posted:
        """What the bot finally said for `interaction`: its @original edit, a followup or a message answer."""
        return await self.wait_for(
            lambda posted: posted.interaction == interaction and posted.via != "deferred", within=within
        )

    async def identified(self, count: int = 1, *, within: float = 30) -> None:
        """Until `count` IDENTIFYs in all have been answered with READY."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.identifies >= count)

    async def forge(self, channel: int, components: list[dict[str, Any]]) -> Posted:
        """A message with these components that someone else (another bot) posted in `channel`."""
        posted = Posted("forged", channel, next(self._ids), "look", [], components)
        await self._record(posted, author=user_object(1, "someone"))
        return posted

    def to(self, channel: int) -> list[Posted]:
        return [posted for posted in self.messages if posted.channel_id == channel]

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()

    # --- checks Discord makes --------------------------------------------------------------------------

    def _refuse(self, what: str, message: str = "Invalid Form Body") -> web.Response:
        self.violations.append(what)
        return json_response({"code": 50035, "message": message, "errors": {"_": what}}, 400)

    def check_message(self, body: dict[str, Any], where: str) -> str | None:
        content = body.get("content") or ""
        if len(content) > 2000:
            return f"{where}: content of {len(content)} characters"
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            return f"{where}: {len(embeds)} embeds"
        total = 0
        for embed in embeds:
            title, description = embed.get("title") or "", embed.get("description") or ""
            footer = (embed.get("footer") or {}).get("text") or ""
            fields = embed.get("fields") or []
            if len(title) > 256 or len(description) > 4096 or len(footer) > 2048 or len(fields) > 25:
                return f"{where}: an embed over its limits"
            total += len(title) + len(description) + len(footer)
        if total > 6000:
            return f"{where}: embeds of {total} characters"
        if not content and not embeds and "components" not in body and where != "edit":
            return f"{where}: an empty message"
        return self._check_components(body.get("components") or [], where)

    def _check_components(self, rows: list[dict[str, Any]], where: str) -> str | None:
        if len(rows) > 5:
            return f"{where}: {len(rows)} action rows"
        seen: set[str] = set()
        for row in rows:
            items = row.get("components") or []
            if row.get("type") != 1 or not 1 <= len(items) <= 5:
                return f"{where}: a row of {len(items)} components"
            if any(item.get("type") == 3 for item in items) and len(items) > 1:
                return f"{where}: a select shares its row"
            for item in items:
                custom = str(item.get("custom_id") or "")
                if not 1 <= len(custom) <= 100 or custom in seen:
                    return f"{where}: custom_id {custom!r}"
                seen.add(custom)
                if item.get("type") == 2 and not 1 <= len(item.get("label") or "") <= 80:
                    return f"{where}: button label {item.get('label')!r}"
                if item.get("type") == 3:
                    options = item.get("options") or []
                    if not 1 <= len(options) <= 25 or len(item.get("placeholder") or "") > 150:
                        return f"{where}: a select of {len(options)} options"
                    for option in options:
                        if not 1 <= len(option["label"]) <= 100 or not 1 <= len(option["value"]) <= 100:
                            return f"{where}: select option {option!r}"
        return None

    def _check_commands(self, commands: list[dict[str, Any]]) -> str | None:
        if len(commands) > 100:
            return f"{len(commands)} commands"
        for command in commands:
            if not _NAME.match(command["name"]) or command["name"] != command["name"].lower():
                return f"command name {command['name']!r}"
            if not 1 <= len(command.get("description") or "") <= 100:
                return f"description of /{command['name']}"
            options = command.get("options") or []
            if len(options) > 25:
                return f"/{command['name']} has {len(options)} options"
            required_done = False
            for option in options:
                if not _NAME.match(option["name"]) or not 1 <= len(option.get("description") or "") <= 100:
                    return f"/{command['name']} option {option['name']!r}"
                if option.get("required") and required_done:
                    return f"/{command['name']}: a required option after an optional one"
                required_done = required_done or not option.get("required")
                if len(option.get("choices") or []) > 25:
                    return f"/{command['name']} {option['name']}: too many choices"
                if option.get("choices") and option.get("autocomplete"):
                    return f"/{command['name']} {option['name']}: choices and autocomplete"
                for text in (option.get("description_localizations") or {}).values():
                    if not 1 <= len(text) <= 100:
                        return f"/{command['name']} {option['name']}: a localized description"
        return None

    # --- REST ----------------------------------------------------------------------------------------------

    def _limited(self, path: str) -> web.Response | None:
        for index, (route, retry_after, is_global) in enumerate(self.rate_limits):
            if route in path:
                del self.rate_limits[index]
                self.limited.append(path)
                headers = {"Via": "1.1 google", "X-RateLimit-Scope": "global" if is_global else "user"}
                if is_global:
                    headers["X-RateLimit-Global"] = "true"
                else:
                    headers.update(
                        {
                            "X-RateLimit-Limit": "5",
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset-After": str(retry_after),
                            "X-RateLimit-Bucket": "fakebucket",
                        }
                    )
                body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
                return json_response(body, 429, headers)
        return None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _record(self, posted: Posted, author: dict[str, Any] = BOT_USER) -> dict[str, Any]:
        message = {
            "id": str(posted.message_id),
            "channel_id": str(posted.channel_id),
            "type": 0,
            "content": posted.content,
            "author": author,
            "embeds": posted.embeds,
            "components": posted.components,
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now(),
            "edited_timestamp": None,
            "flags": EPHEMERAL if posted.ephemeral else 0,
        }
        self._message_objects[posted.message_id] = message
        async with self._changed:
            self.messages.append(posted)
            self._changed.notify_all()
        return message

    async def rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.requests.append(f"{request.method} {path}")
        if limited := self._limited(path):
            return limited
        body = await request.json() if request.can_read_body else {}
        webhook = path.startswith(("/webhooks/", "/interactions/"))
        if not webhook and not self._authorized(request):
            return json_response({"code": 0, "message": "401: Unauthorized"}, 401)
        route = (request.method, path)
        if route == ("GET", "/users/@me"):
            return json_response(BOT_USER)
        if route == ("GET", "/oauth2/applications/@me"):
            return json_response(
                {
                    "id": str(APP_ID),
                    "name": "idkarr",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user_object(1, "owner"),
                    "verify_key": "00" * 32,
                    "flags": 0,
                }
            )
        if route == ("POST", "/users/@me/channels"):
            user = int(body["recipient_id"])
            channel = self._dm_of(user)
            return json_response({"id": str(channel), "type": 1, "recipients": [user_object(user, "someone")]})
        commands = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if commands and request.method == "PUT":
            return await self._put_commands(commands.group(2), body)
        posting = re.fullmatch(r"/channels/(\d+)/messages", path)
        if posting and request.method == "POST":
            return await self._channel_message(int(posting.group(1)), body)
        edit = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if edit and request.method == "PATCH":
            return await self._edit_channel_message(int(edit.group(2)), body)
        if match := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            return await self._callback(int(match.group(1)), match.group(2), body)
        if match := re.fullmatch(r"/webhooks/(\d+)/([^/]+)", path):
            return await self._followup(match.group(2), body)
        original = re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/@original", path)
        if original and request.method == "PATCH":
            return await self._edit_original(original.group(2), body)
        return json_response({"code": 0, "message": "404: Not Found"}, 404)

    async def _put_commands(self, guild: str | None, body: Any) -> web.Response:
        if problem := self._check_commands(body):
            return self._refuse(f"commands: {problem}")
        self.command_puts += 1
        self.commands[f"guild:{guild}" if guild else "global"] = body
        answered = [
            {**command, "id": str(next(self._ids)), "application_id": str(APP_ID), "version": "1"} for command in body
        ]
        return json_response(answered)

    async def _channel_message(self, channel: int, body: dict[str, Any]) -> web.Response:
        user = self._dm_channels.get(channel)
        if user is not None and user in self.closed_dms:
            return json_response({"code": 50007, "message": "Cannot send messages to this user"}, 403)
        if problem := self.check_message(body, "channel message"):
            return self._refuse(problem)
        mentioned = (body.get("allowed_mentions") or {}).get("users") or []
        posted = Posted(
            "channel",
            channel,
            next(self._ids),
            body.get("content") or "",
            body.get("embeds") or [],
            body.get("components") or [],
            mentions=[str(user) for user in mentioned],
        )
        return json_response(await self._record(posted))

    async def _callback(self, interaction_id: int, token: str, body: dict[str, Any]) -> web.Response:
        entry = self._interactions.get(interaction_id)
        if entry is None or entry.token != token:
            return json_response({"code": 10062, "message": "Unknown interaction"}, 404)
        seconds = time.monotonic() - entry.sent_at
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        late = seconds > DEADLINE
        async with self._changed:
            arrived = asyncio.get_running_loop().time()
            self.callbacks.append(Callback(interaction_id, kind, data, late, seconds, arrived))
            self._changed.notify_all()
        if late:
            self.violations.append(f"interaction answered after {seconds:.2f} s")
            return json_response({"code": 10062, "message": "Unknown interaction"}, 404)
        if entry.answered:
            return json_response({"code": 40060, "message": "Interaction has already been acknowledged."}, 400)
        entry.answered = True
        answer: dict[str, Any] = {"interaction": {"id": str(interaction_id), "type": kind}}
        ephemeral = bool(int(data.get("flags") or 0) & EPHEMERAL)
        if kind in (4, 5):
            if kind == 4 and (problem := self.check_message(data, "interaction reply")):
                return self._refuse(problem)
            posted = Posted(
                "callback" if kind == 4 else "deferred",
                entry.channel_id,
                next(self._ids),
                data.get("content") or "",
                data.get("embeds") or [],
                data.get("components") or [],
                ephemeral,
                interaction_id,
            )
            entry.original, entry.ephemeral = posted.message_id, ephemeral
            message = await self._record(posted)
            answer["interaction"].update(
                response_message_id=str(posted.message_id),
                response_message_loading=kind == 5,
                response_message_ephemeral=ephemeral,
            )
            answer["resource"] = {"type": kind, "message": message}
        elif kind == 7:
            edited = await self._edit(entry, data, "update")
            if isinstance(edited, web.Response):
                return edited
            answer["resource"] = {"type": 7, "message": edited}
        elif kind == 8:
            choices = data.get("choices") or []
            if len(choices) > 25 or any(
                not 1 <= len(choice["name"]) <= 100 or not 1 <= len(str(choice["value"])) <= 100 for choice in choices
            ):
                return self._refuse(f"autocomplete: {len(choices)} choices")
            answer["resource"] = {"type": 8}
        elif kind == 9:
            problem = None
            if not 1 <= len(data.get("title") or "") <= 45 or not 1 <= len(data.get("custom_id") or "") <= 100:
                problem = "modal: title or custom_id"
            if problem:
                return self._refuse(problem)
            answer["resource"] = {"type": 9}
        elif kind == 6:
            answer["resource"] = {"type": 6}
        else:
            return self._refuse(f"callback type {kind}")
        return json_response(answer)

    async def _edit(self, entry: _Interaction, body: dict[str, Any], via: str) -> dict[str, Any] | web.Response:
        if entry.original is None:
            return json_response({"code": 10008, "message": "Unknown Message"}, 404)
        if problem := self.check_message(body, "edit"):
            return self._refuse(problem)
        before = self._message_objects[entry.original]
        posted = Posted(
            via,
            int(before["channel_id"]),
            entry.original,
            body["content"] if "content" in body and body["content"] is not None else before["content"],
            body["embeds"] if "embeds" in body else before["embeds"],
            body["components"] if "components" in body else before["components"],
            entry.ephemeral,
            entry.id,
        )
        if not posted.content and not posted.embeds:
            return self._refuse("edit: the message would be empty")
        return await self._record(posted)

    async def _followup(self, token: str, body: dict[str, Any]) -> web.Response:
        entry = self._by_token.get(token)
        if entry is None or not entry.answered:
            return json_response({"code": 10015, "message": "Unknown Webhook"}, 404)
        if problem := self.check_message(body, "followup"):
            return self._refuse(problem)
        ephemeral = bool(int(body.get("flags") or 0) & EPHEMERAL)
        posted = Posted(
            "followup",
            entry.channel_id,
            next(self._ids),
            body.get("content") or "",
            body.get("embeds") or [],
            body.get("components") or [],
            ephemeral,
            entry.id,
        )
        return json_response(await self._record(posted))

    async def _edit_channel_message(self, message_id: int, body: dict[str, Any]) -> web.Response:
        if message_id not in self._message_objects:
            return json_response({"code": 10008, "message": "Unknown Message"}, 404)
        entry = _Interaction(0, "", 0, 0.0, answered=True, original=message_id)
        edited = await self._edit(entry, body, "edit")
        return edited if isinstance(edited, web.Response) else json_response(edited)

    async def _edit_original(self, token: str, body: dict[str, Any]) -> web.Response:
        entry = self._by_token.get(token)
        if entry is None or not entry.answered:
            return json_response({"code": 10015, "message": "Unknown Webhook"}, 404)
        edited = await self._edit(entry, body, "original")
        return edited if isinstance(edited, web.Response) else json_response(edited)

    # --- the gateway ---------------------------------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op = message.get("op")
            if op == 1:
                self.heartbeats += 1
                await socket.send_str(json.dumps({"op": 11}))
            elif op == 2:
                await self._ready(socket)
                async with self._changed:
                    self.identifies += 1
                    self._changed.notify_all()
            elif op == 6:
                await socket.send_str(json.dumps({"op": 0, "s": next(self._sequence), "t": "RESUMED", "d": {}}))
        return socket

    async def _ready(self, socket: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(GUILD), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
        }
        await socket.send_str(json.dumps({"op": 0, "s": next(self._sequence), "t": "READY", "d": ready}))
        channels = [
            {"id": str(channel), "type": 0, "name": name, "position": index}
            for index, (channel, name) in enumerate(
                [
                    (GENERAL, "general"),
                    (MODERATORS, "moderators"),
                    (ANNOUNCE, "announce"),
                    (FALLBACK, "fallback"),
                    (MOVIES, "movies"),
                ]
            )
        ]
        roles = [
            {
                "id": str(GUILD),
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
            {
                "id": str(MOD_ROLE),
                "name": "Mods",
                "permissions": "0",
                "position": 1,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
        ]
        guild = {
            "id": str(GUILD),
            "name": "Household",
            "owner_id": "1",
            "channels": channels,
            "roles": roles,
            "members": [],
            "member_count": 3,
            "emojis": [],
            "stickers": [],
            "features": [],
            "unavailable": False,
        }
        await socket.send_str(json.dumps({"op": 0, "s": next(self._sequence), "t": "GUILD_CREATE", "d": guild}))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/gateway", self.gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self.rest)
        return app


def _now() -> str:
    return datetime.now(UTC).isoformat()
