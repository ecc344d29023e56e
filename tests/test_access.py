"""Per-user permissions and limits set by an admin: overrides of the role and of the global defaults, applied
when the user next acts, recorded privately, and refused clearly when malformed."""

from __future__ import annotations

import json

import pytest

from core.config import RequestSettings
from core.db.session import Database
from core.enums import ActivityType, ContentType, RequestStatus, UserRole
from core.errors import InvalidInput, NotAllowed, NotFound, QuotaExceeded
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.services import access, requests
from core.services.access import DEFAULT
from core.services.activity import feed
from core.services.users import add_user

from .conftest import Idkarr

CATALOG = OfflineCatalog()


async def test_overrides_change_what_a_user_may_do_until_reset(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    matrix = await CATALOG.details(ContentType.MOVIE, ExternalIds(tmdb_id=603))
    bebop = await CATALOG.details(ContentType.ANIME, ExternalIds(tvdb_id=76885))

    changed = await access.set_permissions(db, "alice", {"auto_approve_movie": True, "request_anime": False})
    assert changed.overrides == {"auto_approve_movie": True, "request_anime": False}
    assert (await requests.create(db, matrix, actor_id=alice)).request.status == RequestStatus.APPROVED
    with pytest.raises(NotAllowed, match="may not request anime"):
        await requests.create(db, bebop, actor_id=alice)

    back = await access.set_permissions(db, "alice", {"request_anime": None, "auto_approve_movie": None})
    assert back.overrides == {}
    assert (await requests.create(db, bebop, actor_id=alice)).request.status == RequestStatus.PENDING

    with pytest.raises(InvalidInput, match="'fly' is not a permission"):
        await access.set_permissions(db, "alice", {"fly": True})
    with pytest.raises(InvalidInput, match="'fly' is not a permission"):
        await access.set_permissions(db, "alice", {"fly": None})
    with pytest.raises(NotFound):
        await access.set_permissions(db, "nobody", {"request_movie": True})


async def test_own_limits_win_over_the_defaults_and_default_goes_back(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    defaults = RequestSettings(request_limit=10, series_quota_limit=20, series_quota_days=7)
    shows = [await CATALOG.details(ContentType.SERIES, ExternalIds(tvdb_id=tvdb)) for tvdb in (81189, 121361, 73244)]

    limited = await access.set_limits(
        db, "alice", request_limit=2, quotas={ContentType.SERIES: (6, 30)}, defaults=defaults
    )
    assert (limited.request_limit, limited.own_request_limit) == (2, True)
    assert limited.quotas[ContentType.SERIES].to_json() == {"limit": 6, "days": 30, "own": True}
    assert limited.quotas[ContentType.MOVIE].to_json() == {"limit": None, "days": 7, "own": False}
    await requests.create(db, shows[0], actor_id=alice, seasons=[1, 2, 3], settings=defaults)
    with pytest.raises(QuotaExceeded, match="has used 3 of the 6 series seasons allowed every 30 days"):
        await requests.create(db, shows[1], actor_id=alice, seasons=[1, 2, 3, 4], settings=defaults)
    await requests.create(db, shows[1], actor_id=alice, seasons=[1], settings=defaults)
    with pytest.raises(QuotaExceeded, match="already has 2 open requests"):
        await requests.create(db, shows[2], actor_id=alice, seasons=[1], settings=defaults)

    back = await access.set_limits(
        db, "alice", request_limit=DEFAULT, quotas={ContentType.SERIES: DEFAULT}, defaults=defaults
    )
    assert (back.request_limit, back.own_request_limit) == (10, False)
    assert back.quotas[ContentType.SERIES].to_json() == {"limit": 20, "days": 7, "own": False}
    await requests.create(db, shows[2], actor_id=alice, seasons=[1], settings=defaults)

    for bad, message in (
        ({"request_limit": -1}, "between 0 and 10000"),
        ({"request_limit": 10_001}, "between 0 and 10000"),
        ({"quotas": {ContentType.MOVIE: (1, 0)}}, "between 1 and 365"),
        ({"quotas": {ContentType.MOVIE: (1, 366)}}, "between 1 and 365"),
    ):
        with pytest.raises(InvalidInput, match=message):
            await access.set_limits(db, "alice", **bad)
    for text in ("3", "3/", "/7", "a/7", "3/7/1", "1" * 20):
        with pytest.raises(InvalidInput, match="is not a quota"):
            access.parse_quota(text)
    assert access.parse_quota(" Default ") is DEFAULT


async def test_each_change_is_recorded_privately_and_no_change_records_nothing(db: Database) -> None:
    alice = (await add_user(db, "alice", UserRole.USER)).id
    bob = (await add_user(db, "bob", UserRole.USER)).id
    await access.set_permissions(db, "alice", {"auto_approve_series": True})
    await access.set_permissions(db, "alice", {"auto_approve_series": True})  # already so
    await access.set_limits(db, "alice", request_limit=4)
    await access.set_limits(db, "alice", request_limit=4)
    kinds = [ActivityType.SETTINGS_UPDATED]
    mine = await feed(db, reader=alice, types=kinds)
    assert [entry.details for entry in reversed(mine)] == [
        {"permissions": {"auto_approve_series": True}},
        {"request_limit": 4},
    ]
    assert await feed(db, reader=bob, types=kinds) == []


def test_permissions_and_limits_from_the_shell(idkarr: Idkarr) -> None:
    assert idkarr("user", "add", "alice").returncode == 0
    granted = idkarr("user", "permit", "alice", "--grant", "auto_approve_movie", "--revoke", "request_anime")
    assert "overrides of the role: auto_approve_movie on, request_anime off" in granted.stdout, granted.stderr
    limited = idkarr("user", "limits", "alice", "--open", "3", "--anime", "2/14")
    assert "open requests at once: 3 (own)" in limited.stdout
    assert "anime quota: 2 every 14 days (own)" in limited.stdout
    shown = json.loads(idkarr("user", "show", "alice", "--json").stdout)
    assert shown["overrides"] == {"auto_approve_movie": True, "request_anime": False}
    assert shown["request_limit"] == {"limit": 3, "own": True}
    assert shown["quotas"]["anime"] == {"limit": 2, "days": 14, "own": True}
    assert "request_anime" not in shown["permissions"]

    for args, expected in (
        (("user", "permit", "alice"), "say what to change"),
        (("user", "permit", "alice", "--grant", "fly"), "'fly' is not a permission"),
        (("user", "permit", "alice", "--grant", "request_anime", "--reset", "request_anime"), "named twice"),
        (("user", "limits", "alice"), "say what to change"),
        (("user", "limits", "alice", "--open", "lots"), "not a number of requests"),
        (("user", "limits", "alice", "--movie", "3/x"), "is not a quota"),
        (("user", "show", "nobody"), "no user named"),
    ):
        result = idkarr(*args)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    # A refused change changed nothing.
    assert json.loads(idkarr("user", "show", "alice", "--json").stdout)["quotas"]["movie"]["own"] is False
