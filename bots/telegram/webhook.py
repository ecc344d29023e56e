"""Webhook mode: Telegram posts each update to the configured URL, with the secret_token idkarr set in the
`X-Telegram-Bot-Api-Secret-Token` header; this small server (behind the operator's TLS proxy) checks it and
hands the update to the application. Several idkarr processes can sit behind one URL: Telegram sends each
update once, so each is handled once."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

__all__ = ["SECRET_HEADER", "WebhookReceiver"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_MAX_UPDATE = 1 << 20  # an update is a few kilobytes; a megabyte is no update


class WebhookReceiver:
    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], secret: str) -> None:
        self._application = application
        self._secret = secret
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self._secret.encode()):
            return web.Response(status=403, text="wrong secret token")
        try:
            data = await request.json()
            update = Update.de_json(data, self._application.bot)
        except Exception:
            log.warning("event=telegram_webhook_unreadable")
            return web.Response(status=400, text="not an update")
        await self._application.update_queue.put(update)
        return web.Response(text="ok")

    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=_MAX_UPDATE)
        app.router.add_post("/{path:.*}", self.receive)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
