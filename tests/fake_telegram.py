"""A fake Telegram Bot API on 127.0.0.1, driven by the real python-telegram-bot through its base_url.

Calls arrive as `POST /bot<TOKEN>/<method>`, form-encoded (multipart with files), every non-string value JSON
in its field. Answers are `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"}` with
the HTTP status to match. getUpdates is a long poll honouring `offset` and `timeout`. Every outgoing payload
is checked against the Bot API's limits: a breach is answered 400, as Telegram does, and kept in
`violations` for the test to assert on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .fakes import json_response

BOT_ID = 777000
BOT_USERNAME = "idkarr_test_bot"
TOKEN = "777000:fake-telegram-secret"

_TEXT, _CAPTION, _CALLBACK_DATA, _CALLBACK_ANSWER, _INLINE_RESULTS = 4096, 1024, 64, 200, 50


@dataclass
class Sent:
    """A message the bot sent (or edited), as the fake keeps it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    buttons: list[list[dict[str, Any]]]
    thread_id: int | None = None
    force_reply: bool = False
    photo: str | None = None
    reply_to: int | None = None

    @property
    def labels(self) -> list[str]:
        return [button["text"] for row in self.buttons for button in row]

    def button(self, label: str) -> dict[str, Any]:
        return next(button for row in self.buttons for button in row if button["text"] == label)


@dataclass
class FakeTelegram:
    port: int = 0
    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # answerCallbackQuery and answerInlineQuery
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # language -> setMyCommands list
    violations: list[str] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)  # chats of people who blocked the bot: 403
    faults: list[int] = field(default_factory=list)  # statuses to answer the next send calls with (429: retry_after)
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, chat) of every send
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._messages = itertools.count(5000)
        self._queries = itertools.count(1)
        self._new = asyncio.Condition()
        self._sent_changed = asyncio.Condition()
        self._confirmed = 0
        self._closing = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- what a test does as people on Telegram ---------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._ids)
        async with self._new:
            self.updates.append({"update_id": update_id, **update})
            self._new.notify_all()
        return update_id

    def _user(self, user_id: int, name: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "username": name.lower(), "language_code": "en"}

    def _chat(self, chat_id: int, user_id: int, name: str) -> dict[str, Any]:
        if chat_id == user_id:
            return {"id": chat_id, "type": "private", "first_name": name}
        return {"id": chat_id, "type": "supergroup", "title": "Household", "is_forum": True}

    async def say(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        name: str = "Person",
        reply_to: Sent | None = None,
        thread_id: int | None = None,
    ) -> int:
        chat = chat_id if chat_id is not None else user_id
        message: dict[str, Any] = {
            "message_id": next(self._messages),
            "date": int(time.time()),
            "chat": self._chat(chat, user_id, name),
            "from": self._user(user_id, name),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = self._as_message(reply_to)
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return await self.push({"message": message})

    async def press(
        self, user_id: int, sent: Sent, label: str, *, name: str = "Person", data: str | None = None
    ) -> str:
        query_id = f"q{next(self._queries)}"
        callback = {
            "id": query_id,
            "chat_instance": f"ci{sent.chat_id}",
            "data": data if data is not None else sent.button(label)["callback_data"],
            "from": self._user(user_id, name),
            "message": self._as_message(sent),
        }
        await self.push({"callback_query": callback})
        return query_id

    async def inline(self, user_id: int, query: str, *, offset: str = "", name: str = "Person") -> str:
        query_id = f"i{next(self._queries)}"
        await self.push(
            {"inline_query": {"id": query_id, "from": self._user(user_id, name), "query": query, "offset": offset}}
        )
        return query_id

    def _as_message(self, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "idkarr", "username": BOT_USERNAME},
        }
        message["caption" if sent.photo else "text"] = sent.text
        if sent.buttons:
            message["reply_markup"] = {"inline_keyboard": sent.buttons}
        return message

    async def wait_for(self, check: Callable[[Sent], bool], *, after: int = 0, within: float = 15) -> Sent:
        """The first message sent (from index `after` on) that passes `check`."""
        async with asyncio.timeout(within), self._sent_changed:
            while True:
                for sent in self.sent[after:]:
                    if check(sent):
                        return sent
                await self._sent_changed.wait()

    async def wait_answer(self, query_id: str, within: float = 15) -> dict[str, Any]:
        async with asyncio.timeout(within), self._sent_changed:
            while True:
                for answer in self.answers:
                    if answer.get("callback_query_id") == query_id or answer.get("inline_query_id") == query_id:
                        return answer
                await self._sent_changed.wait()

    def to(self, chat_id: int) -> list[Sent]:
        return [sent for sent in self.sent if sent.chat_id == chat_id]

    async def close(self) -> None:
        async with self._new:
            self._closing = True
            self._new.notify_all()

    # --- the Bot API -------------------------------------------------------------------------------------

    async def _fields(self, request: web.Request) -> dict[str, Any]:
        if request.content_type.startswith("multipart/"):
            found: dict[str, Any] = {}
            async for part in await request.multipart():
                found[part.name or ""] = (await part.read()).decode(errors="replace")  # type: ignore[union-attr]
            raw = found
        elif request.content_type == "application/json":
            return dict(await request.json())
        else:
            raw = dict(await request.post())
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            text = str(value)
            try:
                fields[key] = json.loads(text)
            except ValueError:
                fields[key] = text
        return fields

    def _error(self, status: int, description: str, **extra: Any) -> web.Response:
        return json_response({"ok": False, "error_code": status, "description": description, **extra}, status)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        self.calls.append(method)
        fields = await self._fields(request)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = await handler(fields)
        if isinstance(result, web.Response):
            return result
        return json_response({"ok": True, "result": result})

    async def _m_getMe(self, fields: dict[str, Any]) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "idkarr",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _m_deleteWebhook(self, fields: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _m_setWebhook(self, fields: dict[str, Any]) -> Any:
        self.webhook = fields
        return True

    async def _m_setMyCommands(self, fields: dict[str, Any]) -> Any:
        commands = fields.get("commands") or []
        for command in commands:
            if not (1 <= len(command["command"]) <= 32 and 1 <= len(command["description"]) <= 256):
                self.violations.append(f"setMyCommands: {command}")
                return self._error(400, "Bad Request: invalid command")
        self.commands[str(fields.get("language_code") or "")] = commands
        return True

    async def _m_getUpdates(self, fields: dict[str, Any]) -> Any:
        offset = int(fields.get("offset") or 0)
        timeout = float(fields.get("timeout") or 0)
        async with self._new:
            if offset:
                # Updates below the offset are confirmed: Telegram forgets them.
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout > 0 and not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new.wait(), timeout)
            return [u for u in self.updates if u["update_id"] >= offset][:100]

    def _markup(self, fields: dict[str, Any], method: str) -> tuple[list[list[dict[str, Any]]], bool] | web.Response:
        markup = fields.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        for row in rows:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= _CALLBACK_DATA:
                    self.violations.append(f"{method}: callback_data {data!r}")
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    self.violations.append(f"{method}: a button without text")
                    return self._error(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return rows, bool(markup.get("force_reply"))

    async def _sending(self, fields: dict[str, Any], method: str) -> web.Response | None:
        chat = int(fields["chat_id"])
        self.arrivals.append((time.monotonic(), chat))
        if self.faults:
            status = self.faults.pop(0)
            if status == 429:
                return self._error(429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
            return self._error(status, "Internal Server Error")
        if chat in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        return None

    async def _record(self, sent: Sent) -> dict[str, Any]:
        async with self._sent_changed:
            self.sent.append(sent)
            self._sent_changed.notify_all()
        message = self._as_message(sent)
        if sent.thread_id is not None:
            message["message_thread_id"] = sent.thread_id
        return message

    async def _m_sendMessage(self, fields: dict[str, Any]) -> Any:
        if refused := await self._sending(fields, "sendMessage"):
            return refused
        text = str(fields.get("text", ""))
        if not 1 <= len(text) <= _TEXT:
            self.violations.append(f"sendMessage: text of {len(text)} characters")
            problem = "message is too long" if text else "message text is empty"
            return self._error(400, f"Bad Request: {problem}")
        markup = self._markup(fields, "sendMessage")
        if isinstance(markup, web.Response):
            return markup
        rows, force = markup
        reply = fields.get("reply_parameters") or {}
        return await self._record(
            Sent(
                "sendMessage",
                int(fields["chat_id"]),
                next(self._messages),
                text,
                rows,
                fields.get("message_thread_id"),
                force,
                reply_to=reply.get("message_id") if isinstance(reply, dict) else None,
            )
        )

    async def _m_sendPhoto(self, fields: dict[str, Any]) -> Any:
        if refused := await self._sending(fields, "sendPhoto"):
            return refused
        caption = str(fields.get("caption", ""))
        if len(caption) > _CAPTION:
            self.violations.append(f"sendPhoto: caption of {len(caption)} characters")
            return self._error(400, "Bad Request: message caption is too long")
        markup = self._markup(fields, "sendPhoto")
        if isinstance(markup, web.Response):
            return markup
        rows, _ = markup
        return await self._record(
            Sent(
                "sendPhoto",
                int(fields["chat_id"]),
                next(self._messages),
                caption,
                rows,
                fields.get("message_thread_id"),
                photo=str(fields.get("photo")),
            )
        )

    def _find(self, fields: dict[str, Any]) -> Sent | None:
        chat, message = int(fields.get("chat_id", 0)), int(fields.get("message_id", 0))
        return next((s for s in reversed(self.sent) if s.chat_id == chat and s.message_id == message), None)

    async def _edit(self, fields: dict[str, Any], method: str, key: str, limit: int) -> Any:
        original = self._find(fields)
        if original is None:
            return self._error(400, "Bad Request: message to edit not found")
        markup = self._markup(fields, method)
        if isinstance(markup, web.Response):
            return markup
        rows, _ = markup
        text = str(fields.get(key, original.text)) if key else original.text
        if not 1 <= len(text) <= limit:
            self.violations.append(f"{method}: {len(text)} characters")
            return self._error(400, "Bad Request: message is too long")
        edited = Sent(
            method, original.chat_id, original.message_id, text, rows, original.thread_id, photo=original.photo
        )
        return await self._record(edited)

    async def _m_editMessageText(self, fields: dict[str, Any]) -> Any:
        return await self._edit(fields, "editMessageText", "text", _TEXT)

    async def _m_editMessageCaption(self, fields: dict[str, Any]) -> Any:
        return await self._edit(fields, "editMessageCaption", "caption", _CAPTION)

    async def _m_editMessageReplyMarkup(self, fields: dict[str, Any]) -> Any:
        return await self._edit(fields, "editMessageReplyMarkup", "", _TEXT)

    async def _m_answerCallbackQuery(self, fields: dict[str, Any]) -> Any:
        text = str(fields.get("text") or "")
        if len(text) > _CALLBACK_ANSWER:
            self.violations.append(f"answerCallbackQuery: text of {len(text)} characters")
            return self._error(400, "Bad Request: MESSAGE_TOO_LONG")
        async with self._sent_changed:
            self.answers.append(fields)
            self._sent_changed.notify_all()
        return True

    async def _m_answerInlineQuery(self, fields: dict[str, Any]) -> Any:
        results = fields.get("results") or []
        if len(results) > _INLINE_RESULTS or len(str(fields.get("next_offset") or "").encode()) > 64:
            self.violations.append(f"answerInlineQuery: {len(results)} results")
            return self._error(400, "Bad Request: RESULTS_TOO_MUCH")
        for result in results:
            for row in (result.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= _CALLBACK_DATA:
                        self.violations.append(f"answerInlineQuery: callback_data {data!r}")
                        return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        async with self._sent_changed:
            self.answers.append(fields)
            self._sent_changed.notify_all()
        return True

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self.handle)
        return app
