"""Every string a person reads, keyed by language. English is complete; other languages fall back to it key
by key, so a half-translated catalog is still usable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import DomainError

__all__ = ["CATALOGS", "ENGLISH", "Messages", "languages"]

ENGLISH: Mapping[str, str] = {
    # buttons
    "button.request": "Request",
    "button.confirm": "Confirm",
    "button.cancel": "Cancel",
    "button.approve": "Approve",
    "button.deny": "Deny",
    "button.cancel_request": "Cancel request",
    "button.retry": "Retry",
    "button.watchlist": "Add to watchlist",
    "button.more": "More",
    "button.back": "Back",
    "button.all_seasons": "All seasons",
    "button.season": "Season {number}",
    "button.specials": "Specials",
    # badges and card lines
    "badge.in_library": "In library",
    "badge.available": "Available",
    "badge.requested_by": "Requested by {count}",
    "badge.status": "{status}",
    "card.subtitle": "{year} · {content_type}",
    "card.rating": "★ {rating}",
    "content.movie": "movie",
    "content.series": "series",
    "content.anime": "anime",
    "status.pending": "Pending",
    "status.approved": "Approved",
    "status.available": "Available",
    "status.partial": "Partially available",
    "status.denied": "Denied",
    "status.failed": "Failed",
    "status.cancelled": "Cancelled",
    "status.expired": "Expired",
    "page.footer": "Page {page} of {pages}",
    # help
    "help.text": (
        "What you can say:\n"
        "/search TITLE: find a movie, series or anime (tmdb:603, tvdb:81189, imdb:tt0133093 and year:1999 work too)\n"
        "/discover [trending|popular|upcoming|top-rated|airing-today|on-the-air] [movie|series|anime]\n"
        "/request movie|series|anime ID [SEASONS]: ask for a title (seasons like 1,2 or 1-3)\n"
        "/requests [mine|pending|all|STATUS]: see requests\n"
        "/approve ID [instance:NAME profile:NAME folder:PATH], /deny ID REASON, /cancel ID: decide or withdraw\n"
        "/edit ID SEASONS: change the seasons of a pending request; /retry ID: send a failed one again\n"
        "/watchlist [add|set|remove] ...: your lists, progress, ratings; /watchlist list NAME: someone else's\n"
        "/activity [TYPE]: what happened lately\n"
        "/quota: what you may still request\n"
        "/settings [language CODE | notify approved|denied|available|failed on|off]\n"
        "/settings show watchlist|watched|requests on|off: what others may see of you\n"
        "/link CODE, /register: connect this account to idkarr\n"
        "/help: this list"
    ),
    "help.unknown": "I don't know {command}. Send /help to see what I understand.",
    "help.not_command": "Commands start with /. Send /help to see them.",
    "input.too_long": "That message is too long ({length} characters; the most is {limit}).",
    "input.missing": "{command} needs more: {usage}",
    # discovery
    "search.none": "Nothing found for “{term}”.",
    "search.results": "Results for “{term}”:",
    "discover.results": "{kind} {content}:",
    "discover.unknown_kind": (
        "{kind} is not a list I know. Try trending, popular, upcoming, top-rated, airing-today or on-the-air."
    ),
    "discovery.stale": "(these results may be out of date: the metadata service is not answering)",
    # requesting
    "request.confirm_movie": "Request {title} ({year})?",
    "request.confirm_seasons": "Request {title} ({year}), {seasons}?",
    "request.pick_seasons": "Which seasons of {title}?",
    "request.seasons_all": "all seasons",
    "request.seasons_some": "seasons {seasons}",
    "request.created": "Requested {title} ({year}). A moderator will look at it.",
    "request.auto_approved": "Requested and approved {title} ({year}).",
    "request.joined": "{title} was already requested; you now follow request #{id} and will hear when it changes.",
    "request.joined_seasons": "You joined request #{id} for {title} and added seasons {seasons}.",
    "request.cancelled_choice": "Cancelled.",
    "request.approved": "Approved request #{id}: {title} ({year}).",
    "request.denied": "Denied request #{id}: {title}. Reason: {reason}",
    "request.withdrawn": "Cancelled request #{id}: {title}.",
    "request.retried": "Sent request #{id} again: {title} ({year}).",
    "request.edited": "Request #{id} for {title} now asks for {seasons}.",
    "request.edit_film": "Request #{id} is for a film ({title}): it has no seasons to change.",
    "request.ask_reason": "Why deny request #{id} ({title})? Send the reason as your next message.",
    "request.list_none": "No requests here.",
    "request.list_title": "Requests ({filter}):",
    "request.line": "#{id} · {status} · requested by {requested_by}{watchers}",
    "request.watchers": " and {count} more",
    "request.bad_id": "{value} is not a request number.",
    "request.bad_placement": "{value} is not where to approve into: write instance:NAME, profile:NAME or folder:PATH.",
    "request.approve_usage": "/approve ID [instance:NAME] [profile:NAME] [folder:PATH] (quote names with spaces)",
    "request.bad_filter": "{value} is not a filter; use mine, pending, all or a status.",
    # watchlist
    "watchlist.added": "Added {title} to your {list}.",
    "watchlist.updated": "{title} is on your {list}{progress}{rating}.",
    "list.watchlist": "watchlist",
    "list.watching": "watching list",
    "list.watched": "watched list",
    "list.dropped": "dropped list",
    "list.hold": "on-hold list",
    "watchlist.removed": "Removed {title} from your list.",
    "watchlist.empty": "Your list is empty. Add titles with the watchlist button on search results.",
    "watchlist.title": "Your list:",
    "watchlist.title_other": "{name}'s list:",
    "watchlist.empty_other": "{name}'s list is empty.",
    "watchlist.line": "{list}: {title} ({year}){progress}{rating}",
    "watchlist.progress": " at S{season:02d}E{episode:02d}",
    "watchlist.rating": ", rated {rating}/10",
    "watchlist.usage": (
        "/watchlist add TYPE ID [LIST] · /watchlist set TYPE ID LIST|rating N|progress S E|review TEXT"
        " · /watchlist remove TYPE ID · /watchlist list [NAME]"
    ),
    # activity
    "activity.none": "Nothing has happened yet.",
    "activity.title": "Latest activity:",
    "activity.line": "{when} · {type} · {who}{title}",
    # account
    "account.linked": "This account is now linked to {username}. Welcome!",
    "account.registered": "Welcome, {username}! You can search and request right away.",
    "account.pending": "Thanks, {username}. An admin will approve your account soon; you'll hear from me then.",
    "account.already_linked": "This account already belongs to {username}.",
    "quota.title": "What you may still request:",
    "quota.exempt": "You have no limits.",
    "quota.open": "Open requests: {count} of {limit}",
    "quota.open_unlimited": "Open requests: {count} (no limit)",
    "quota.line": "{content}: {used} of {limit} {unit} in {days} days",
    "quota.unlimited": "{content}: no quota",
    "settings.title": "Your settings:",
    "settings.language": "Language: {language} (available: {languages})",
    "settings.notify": "Notify me when a request is {event}: {state}",
    "settings.show_watchlist": "Others may see my watchlist: {state}",
    "settings.show_watched": "Others may see what I watched: {state}",
    "settings.show_requests": "Others may see my requests: {state}",
    "settings.on": "on",
    "settings.off": "off",
    "settings.saved": "Saved.",
    "settings.unknown_language": "I can't speak {language} yet; available: {languages}.",
    "settings.usage": (
        "/settings language CODE · /settings notify approved|denied|available|failed on|off"
        " · /settings show watchlist|watched|requests on|off"
    ),
    # errors
    "error.refused": "Sorry: {reason}.",
    "error.upstream": "The metadata service can't be reached right now, try again in a minute.",
    "error.internal": "Something went wrong on my side; it has been logged. Please try again.",
    "token.unknown": "That button no longer works. Send the command again for fresh buttons.",
    "token.expired": "That button has expired. Send the command again for fresh buttons.",
    "token.not_yours": "That button belongs to someone else's conversation.",
    "console.welcome": "idkarr · you are {username}. /help lists commands; a number presses a button.",
    "console.no_button": "There is no button {number}.",
    "console.switched": "You are now {username}.",
    # notifications
    "notify.request_pending": "New request from {requested_by}: {title} ({year}). /requests pending",
    "notify.request_approved": "Your request for {title} ({year}) was approved.",
    "notify.request_denied": "Your request for {title} ({year}) was denied: {reason}",
    "notify.request_available": "{title} ({year}) is available now. Enjoy!",
    "notify.request_partial": "Part of {title} ({year}) is available now.",
    "notify.request_failed": "{title} ({year}) could not be downloaded: {reason}",
    "notify.request_expired": "Your request for {title} ({year}) expired before anyone decided.",
    "notify.user_pending": "{username} signed up from {platform} and waits for approval: idkarr user enable {username}",
    "notify.other": "{event}: {title}",
    # announcements: to everyone, where the community reads
    "announce.request_created": "{by} requested {title} ({year}, {content}).",
    "announce.request_approved": "{title} ({year}) was approved by {by}{requester}.",
    "announce.request_approved_auto": "{title} ({year}) was approved automatically{requester}.",
    "announce.request_denied": "{title} ({year}) was denied by {by}{requester}: {reason}",
    "announce.request_available": "{title} ({year}) is available now{requester}.",
    "announce.request_partial": "Part of {title} ({year}) is available now{requester}.",
    "announce.request_failed": "{title} ({year}) could not be downloaded{requester}: {reason}",
    "announce.requester": ", requested by {name}",
    "announce.someone": "Someone",
    "announce.moderator": "a moderator",
}

SPANISH: Mapping[str, str] = {
    "button.request": "Pedir",
    "button.confirm": "Confirmar",
    "button.cancel": "Cancelar",
    "button.approve": "Aprobar",
    "button.deny": "Rechazar",
    "button.more": "Más",
    "button.all_seasons": "Todas las temporadas",
    "button.season": "Temporada {number}",
    "badge.in_library": "En la biblioteca",
    "badge.available": "Disponible",
    "badge.requested_by": "Pedido por {count}",
    "help.unknown": "No conozco {command}. Envía /help para ver lo que entiendo.",
    "search.none": "No encontré nada para “{term}”.",
    "search.results": "Resultados para “{term}”:",
    "request.created": "Pediste {title} ({year}). Un moderador lo revisará.",
    "settings.saved": "Guardado.",
    "error.refused": "Lo siento: {reason}.",
    "error.upstream": "No se puede contactar con el servicio de metadatos; inténtalo de nuevo en un minuto.",
    "error.internal": "Algo falló de mi lado; quedó registrado. Inténtalo de nuevo.",
    "notify.request_approved": "Tu pedido de {title} ({year}) fue aprobado.",
    "notify.request_denied": "Tu pedido de {title} ({year}) fue rechazado: {reason}",
    "announce.request_created": "{by} pidió {title} ({year}).",
    "announce.request_approved": "{title} ({year}) fue aprobado por {by}{requester}.",
    "announce.request_available": "{title} ({year}) ya está disponible{requester}.",
    "announce.requester": ", pedido por {name}",
    "announce.someone": "Alguien",
    "announce.moderator": "un moderador",
}

# Refusals from core: English is core's own sentence (see core.errors.DomainError); translations are keyed
# "refusal.CODE" and use the values core names.
SPANISH_REFUSALS: Mapping[str, str] = {
    "refusal.permission.denied": "{name} ({role}) no tiene permiso para esto",
    "refusal.account.disabled": "la cuenta de {name} está desactivada",
    "refusal.account.pending": "la cuenta de {name} espera la aprobación de un administrador",
    "refusal.request.unknown": "no existe el pedido #{id}",
    "refusal.request.decided": "el pedido #{id} ya está {status}",
    "refusal.request.decided_by": "el pedido #{id} ya está {status} por {name}",
    "refusal.request.available": "{title} ya está disponible",
    "refusal.request.seasons_available": "{title}: todas las temporadas pedidas ya están disponibles",
    "refusal.request.following": "ya sigues el pedido #{id} de {title}",
    "refusal.request.cancel_own": "solo quien hizo el pedido #{id} puede cancelarlo",
    "refusal.quota.open": "{name} ya tiene {count} pedidos abiertos (el límite es {limit})",
    "refusal.quota.requests": "{name} puede pedir {quota} títulos cada {days} días y ya pidió {used}",
    "refusal.quota.seasons": "{name} puede pedir {quota} temporadas cada {days} días y ya pidió {used}",
    "refusal.seasons.unknown": "{title} no tiene temporada {season} (sus temporadas: {seasons})",
    "refusal.seasons.film": "las películas no tienen temporadas",
    "refusal.deny.reason": "un rechazo necesita un motivo de 1 a {most} caracteres",
    "refusal.search.empty": "escribe algo para buscar: un título, tmdb:550 o imdb:tt0137523",
    "refusal.user.unknown": "no hay ningún usuario llamado {name!r}",
    "refusal.watchlist.private": "{name} mantiene su lista en privado",
    "refusal.watchlist.missing": "ese título no está en tu lista",
    "refusal.watchlist.rating": "una nota es un número entero del 1 al 10",
    "refusal.link.unknown": "ese código no es válido; pide uno nuevo a un administrador",
    "refusal.link.used": "ese código ya se usó; pide uno nuevo a un administrador",
    "refusal.link.expired": "ese código caducó; pide uno nuevo a un administrador",
    "refusal.not_linked.closed": (
        "esta cuenta de {platform} aún no está vinculada a idkarr: pide un código a un administrador y envíalo con"
        " /link CÓDIGO"
    ),
    "refusal.not_linked.approval": (
        "esta cuenta de {platform} aún no está vinculada a idkarr: envía /link CÓDIGO con un código de un"
        " administrador, o /register para registrarte (un administrador te aprobará)"
    ),
    "refusal.not_linked.open": (
        "esta cuenta de {platform} aún no está vinculada a idkarr: envía /link CÓDIGO con un código de un"
        " administrador, o /register para registrarte"
    ),
    "refusal.register.closed": "el registro está cerrado; pide un código a un administrador",
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": ENGLISH, "es": {**SPANISH, **SPANISH_REFUSALS}}


def languages() -> list[str]:
    return sorted(CATALOGS)


class Messages:
    """The strings of one language: `messages("request.created", title=..., year=...)`."""

    def __init__(self, language: str) -> None:
        base = language.split("-", 1)[0].lower()
        self.language = base if base in CATALOGS else "en"
        self._catalog = CATALOGS[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        return self.render(key, values)

    def render(self, key: str, values: Mapping[str, Any]) -> str:
        template = self._catalog.get(key) or ENGLISH[key]
        return template.format_map(values)

    def reason(self, error: DomainError) -> str:
        """Why core refused, in this language: the translation of its code, else core's own English sentence."""
        template = self._catalog.get(f"refusal.{error.code}") if error.code else None
        if template is None:
            return str(error)
        try:
            return template.format_map(error.values)
        except (KeyError, IndexError, ValueError):
            # A translation naming a value this refusal does not carry: English is better than nothing.
            return str(error)

    def refusal(self, error: DomainError) -> str:
        return self("error.refused", reason=self.reason(error).rstrip("."))
