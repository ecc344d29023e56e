"""Discord as a front end of the outbox dispatcher: people's notifications as DMs with the buttons the
conversation gives them (a mention in the fallback channel when their DMs are closed), new requests posted
to the moderators' channel with Approve and Deny, and the activity announced in the announcement channel
(or the one for the title's content type).

Rate limits are discord.py's to keep: it waits out a 429 (global or per route) and tries again; what still
fails raises, and the dispatcher keeps the message and tries later. Nothing is dropped for a 429.
"""

from __future__ import annotations

import logging

import discord

from bots.conversation.conversation import Conversation
from bots.conversation.limits import DISCORD_CONTENT
from bots.conversation.notifications import announcement_text
from bots.conversation.questions import Place
from bots.conversation.replies import Reply
from bots.discord.render import render
from core.config import DiscordSettings
from core.enums import ChatPlatform
from core.services.dispatcher import Delivery

__all__ = ["DM_CLOSED", "DiscordNotifier"]

log = logging.getLogger(__name__)

DM_CLOSED = 50007  # "Cannot send messages to this user"


class DiscordNotifier:
    name = "discord"

    def __init__(self, client: discord.Client, conversation: Conversation, settings: DiscordSettings) -> None:
        self._client = client
        self._conversation = conversation
        self._settings = settings

    async def deliver(self, delivery: Delivery) -> bool:
        if self._client.user is None:
            # Not logged in yet (Discord was out of reach at start): the dispatcher tries again later.
            raise ConnectionError("not logged in to Discord yet")
        if delivery.recipient_id is None:
            return await self._announce(delivery)
        user = delivery.identities.get("discord")
        if user is None or not user.isdigit():
            return False  # not on Discord: another front end reaches them
        user_id = int(user)
        dm = await self._client.create_dm(discord.Object(id=user_id))
        reply = await self._conversation.notification(delivery, place=Place(ChatPlatform.DISCORD, str(dm.id), True))
        try:
            await dm.send(**render(reply).send())
        except discord.Forbidden as refused:
            if refused.code != DM_CLOSED:
                raise
            return await self._mention(user_id, delivery, reply)
        return True

    async def _mention(self, user_id: int, delivery: Delivery, reply: Reply) -> bool:
        """DMs closed: the person is mentioned in the fallback channel, with the same message but no
        buttons (they are the recipient's alone, and everyone there would see them)."""
        channel_id = self._settings.fallback_channel_id
        if channel_id is None:
            log.info("event=discord_dm_closed outbox_id=%d fallback=none", delivery.id)
            return False
        mention = f"<@{user_id}> "
        text = reply.text[: DISCORD_CONTENT - len(mention)]
        channel = self._client.get_partial_messageable(channel_id)
        await channel.send(
            mention + text,
            allowed_mentions=discord.AllowedMentions(users=[discord.Object(id=user_id)], roles=False, everyone=False),
        )
        log.info("event=discord_dm_closed outbox_id=%d fallback=channel", delivery.id)
        return True

    async def _announce(self, delivery: Delivery) -> bool:
        settings, posted = self._settings, False
        moderation = await self._conversation.moderation(delivery)
        if moderation is not None and settings.moderators_channel_id is not None:
            await self._post(settings.moderators_channel_id, moderation)
            posted = True
        kind = delivery.payload.get("content_type")
        channel_id = settings.announce_channel_ids.get(str(kind), settings.announce_channel_id)
        if channel_id is not None:
            await self._post(channel_id, Reply(text=announcement_text(delivery)))
            posted = True
        return posted

    async def _post(self, channel_id: int, reply: Reply) -> None:
        channel = self._client.get_partial_messageable(channel_id)
        await channel.send(**render(reply).send(), allowed_mentions=discord.AllowedMentions.none())
