"""The discovery service on real PostgreSQL and Redis, with the offline catalog and a fake TMDB behind it."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.db.models import DiscoveryCacheEntry, Media
from core.db.session import Database
from core.enums import ContentType, DiscoveryKind, MediaStatus, RequestStatus
from core.errors import InvalidInput
from core.metadata.offline import OfflineCatalog
from core.metadata.provider import ExternalIds
from core.metadata.query import parse_search
from core.runtime import redis_client
from core.services.discovery import DiscoveryPage
from core.upstream_errors import UpstreamUnavailable

from .contracts import ITEM_FIELDS
from .factories import make_request, make_user
from .fake_tmdb import FakeTmdb, serve_tmdb, synthetic_titles
from .metadata_helpers import discovery_service, tmdb_provider

CATALOG = OfflineCatalog()


@pytest.mark.parametrize("kind", ["trending", "popular", "upcoming", "top-rated", "airing-today", "on-the-air"])
@pytest.mark.parametrize("content", [None, ContentType.MOVIE, ContentType.SERIES, ContentType.ANIME])
async def test_the_offline_catalog_serves_every_list(
    db: Database, redis_client: aioredis.Redis, kind: str, content: ContentType | None
) -> None:
    service = discovery_service(db, redis_client, CATALOG)
    page = await service.discover(DiscoveryKind(kind), content, page_size=10)
    if content == ContentType.MOVIE and kind in ("airing-today", "on-the-air"):
        assert page.items == ()  # films do not air
        return
    assert len(page.items) == 10
    assert all(content is None or item.title.type == content for item in page.items)
    assert set(page.items[0].to_json()) == ITEM_FIELDS


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("brekaing bad", "Breaking Bad"),
        ("the matrix", "The Matrix"),
        ("inceptoin", "Inception"),
        ("game of throne", "Game of Thrones"),
        ("the office", "The Office"),
        ("attack on titan", "Attack on Titan"),
        ("cowboy bebop", "Cowboy Bebop"),
        ("fullmetal alchemist", "Fullmetal Alchemist"),  # the exact title wins over the more popular one
        ("fulmetal alchemist brotherhod", "Fullmetal Alchemist: Brotherhood"),
        ("SHOGUN", "Shōgun"),
        ("fight club", "Fight Club"),
    ],
)
async def test_search_forgives_typos_case_and_accents(
    db: Database, redis_client: aioredis.Redis, typed: str, expected: str
) -> None:
    page = await discovery_service(db, redis_client, CATALOG).search(typed)
    assert page.items[0].title.title == expected


async def test_the_catalog_holds_the_best_known_titles_with_real_ids() -> None:
    expected = {
        ("movie", 603): "tt0133093",
        ("movie", 550): "tt0137523",
        ("movie", 27205): "tt1375666",
        ("series", 1396): "tt0903747",
        ("series", 1399): "tt0944947",
        ("series", 2316): "tt0386676",
        ("anime", 1429): "tt2560140",
        ("anime", 30991): "tt0213338",
        ("anime", 31911): "tt1355642",
    }
    by_key = {(t.type.value, t.tmdb_id): t for t in CATALOG.titles()}
    for key, imdb in expected.items():
        assert by_key[key].imdb_id == imdb
    assert by_key[("series", 1396)].tvdb_id == 81189
    assert by_key[("anime", 1429)].tvdb_id == 267440
    assert len({t.imdb_id for t in CATALOG.titles()}) == len(CATALOG)  # no title twice


async def test_the_catalog_holds_a_third_of_each_kind_and_anime_in_tvdb_seasons() -> None:
    kinds = Counter(t.type for t in CATALOG.titles())
    assert len(CATALOG) >= 300
    assert min(kinds[kind] for kind in ContentType) >= 100, kinds
    # A title TheTVDB splits into several seasons while TMDB keeps one: the catalog offers TheTVDB's.
    bungo = await CATALOG.details(ContentType.ANIME, ExternalIds(tvdb_id=305075))
    assert (bungo.title.tmdb_id, bungo.title.imdb_id) == (65931, "tt5679720")
    assert [(s.season_number, s.episode_count) for s in bungo.seasons] == [(1, 24), (2, 12), (3, 24)]
    # One long run on TMDB (148 episodes), three seasons on TheTVDB: what a Sonarr request must name.
    hunter = await CATALOG.details(ContentType.ANIME, ExternalIds(tvdb_id=252322))
    assert [(s.season_number, s.episode_count) for s in hunter.seasons] == [(1, 58), (2, 78), (3, 12)]
    tvdb_ids = [t.tvdb_id for t in CATALOG.titles() if t.tvdb_id is not None]
    assert len(tvdb_ids) == len(set(tvdb_ids))
    # Sonarr adds a show by its TheTVDB id: every anime can be handed over.
    assert [t.title for t in CATALOG.titles() if t.type == ContentType.ANIME and t.tvdb_id is None] == []


async def test_ids_and_year_filters_in_search(db: Database, redis_client: aioredis.Redis) -> None:
    service = discovery_service(db, redis_client, CATALOG)
    assert [i.title.title for i in (await service.search("tmdb:550")).items] == ["Fight Club"]
    assert [i.title.title for i in (await service.search("imdb:tt0137523")).items] == ["Fight Club"]
    assert [i.title.title for i in (await service.search("tvdb:81189")).items] == ["Breaking Bad"]
    assert [i.title.title for i in (await service.search("godfather year:1974")).items] == ["The Godfather Part II"]
    assert (await service.search("tmdb:99999999")).items == ()
    for bad in ("tmdb:abc", "imdb:12345", "year:1200", "   ", "year:abc"):
        with pytest.raises(InvalidInput):
            await service.search(bad)


async def test_title_details_have_seasons_in_tvdb_numbering(db: Database, redis_client: aioredis.Redis) -> None:
    view = await discovery_service(db, redis_client, CATALOG).title(ContentType.ANIME, ExternalIds(tvdb_id=267440))
    data = view.to_json()
    assert data["title"] == "Attack on Titan"
    assert [(s["season_number"], s["episode_count"]) for s in data["seasons"]] == [(1, 25), (2, 12), (3, 22), (4, 30)]


async def test_items_say_what_is_in_the_library_and_what_is_requested(
    db: Database, redis_client: aioredis.Redis
) -> None:
    async with db.transaction() as session:
        session.add(
            Media(content_type=ContentType.MOVIE, tmdb_id=603, title="The Matrix", status=MediaStatus.AVAILABLE)
        )
        session.add(
            Media(content_type=ContentType.MOVIE, tmdb_id=680, title="Pulp Fiction", status=MediaStatus.DELETED)
        )
        alice = await make_user(session)
        await make_request(session, alice, tmdb_id=550, title="Fight Club")
        # Asked for again after a denial: the newest request is the one to show.
        now = datetime.now(UTC)
        await make_request(
            session,
            alice,
            tmdb_id=155,
            title="The Dark Knight",
            status=RequestStatus.DENIED,
            denial_reason="not now",
            created_at=now - timedelta(days=2),
        )
        await make_request(session, alice, tmdb_id=155, title="The Dark Knight", created_at=now)
    service = discovery_service(db, redis_client, CATALOG)
    matrix = (await service.search("tmdb:603")).items[0]
    fight_club = (await service.search("tmdb:550")).items[0]
    inception = (await service.search("tmdb:27205")).items[0]
    pulp_fiction = (await service.search("tmdb:680")).items[0]
    dark_knight = (await service.search("tmdb:155")).items[0]
    assert (matrix.exists_in_library, matrix.media_id is not None, matrix.request_status) == (True, True, None)
    assert (fight_club.exists_in_library, fight_club.request_status) == (False, RequestStatus.PENDING)
    assert (inception.exists_in_library, inception.request_status) == (False, None)
    assert (pulp_fiction.exists_in_library, pulp_fiction.media_id) == (False, None)
    assert (dark_knight.title.title, dark_knight.request_status) == ("The Dark Knight", RequestStatus.PENDING)


async def test_a_page_asked_for_again_shows_what_changed_in_between(db: Database, redis_client: aioredis.Redis) -> None:
    service = discovery_service(db, redis_client, CATALOG)
    before = await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
    assert await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE) is before  # nothing changed: reused
    asked, stocked = before.items[0].title, before.items[1].title
    async with db.transaction() as session:
        alice = await make_user(session)
        await make_request(session, alice, tmdb_id=asked.tmdb_id, title=asked.title)
        session.add(
            Media(content_type=stocked.type, tmdb_id=stocked.tmdb_id, title=stocked.title, status=MediaStatus.AVAILABLE)
        )
    after = await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
    assert (after.items[0].request_status, after.items[1].exists_in_library) == (RequestStatus.PENDING, True)
    assert [item.title for item in after.items] == [item.title for item in before.items]


async def test_pages_marked_at_one_moment_each_get_their_own_marks(db: Database, redis_client: aioredis.Redis) -> None:
    # One statement reads what idkarr has of every page asked together; each page must get only its rows.
    kinds = (DiscoveryKind.POPULAR, DiscoveryKind.TOP_RATED, DiscoveryKind.UPCOMING, DiscoveryKind.TRENDING)
    unmarked = [await discovery_service(db, redis_client, CATALOG).discover(kind, ContentType.MOVIE) for kind in kinds]
    async with db.transaction() as session:
        alice = await make_user(session)
        for number, page in enumerate(unmarked):
            asked, stocked = page.items[number].title, page.items[number + 1].title
            await make_request(session, alice, tmdb_id=asked.tmdb_id, title=asked.title)
            session.add(
                Media(
                    content_type=stocked.type,
                    tmdb_id=stocked.tmdb_id,
                    title=stocked.title,
                    status=MediaStatus.AVAILABLE,
                )
            )

    def marks(pages: list[DiscoveryPage]) -> list[list[tuple[int | None, bool, bool, RequestStatus | None]]]:
        return [
            [(i.title.tmdb_id, i.exists_in_library, i.media_id is not None, i.request_status) for i in page.items]
            for page in pages
        ]

    alone = [await discovery_service(db, redis_client, CATALOG).discover(kind, ContentType.MOVIE) for kind in kinds]
    shared = discovery_service(db, redis_client, CATALOG)
    together = await asyncio.gather(*(shared.discover(kind, ContentType.MOVIE) for kind in kinds * 2))
    assert marks(list(together)) == marks(alone) * 2
    assert sum(item.request_status is not None for page in alone for item in page.items) >= len(kinds)
    assert sum(item.exists_in_library for page in alone for item in page.items) >= len(kinds)


async def test_pages_are_cached_in_redis_and_survive_a_restart_in_the_table(
    db: Database, redis_client: aioredis.Redis
) -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        service = discovery_service(db, redis_client, tmdb)
        first = await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
        again = await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
        assert fake.calls["movie/popular"] == 1
        assert [i.title.title for i in again.items] == [i.title.title for i in first.items]
        await service.settled()

        await redis_client.flushdb()  # Redis lost (restart without persistence): the table still has the page
        restarted = discovery_service(db, redis_client, tmdb)
        await restarted.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
        assert fake.calls["movie/popular"] == 1
    async with db.session() as session:
        rows = (await session.execute(select(func.count()).select_from(DiscoveryCacheEntry))).scalar_one()
    assert rows == 1  # one row per whole page, not per item


async def test_redis_being_away_costs_the_cache_nothing_but_speed(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = redis_client(f"redis://127.0.0.1:{port}")  # as `idkarr run` makes it
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        first = await discovery_service(db, gone, tmdb).discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
        restarted = discovery_service(db, gone, tmdb)
        caplog.clear()
        again = await restarted.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)
        for kind in (DiscoveryKind.TOP_RATED, DiscoveryKind.UPCOMING):
            await restarted.discover(kind, ContentType.MOVIE)
        await restarted.title(ContentType.MOVIE, ExternalIds(tmdb_id=first.items[0].title.tmdb_id))
    assert fake.calls["movie/popular"] == 1  # the second service read the table
    assert [i.title.title for i in again.items] == [i.title.title for i in first.items]
    # Redis was asked once, then left alone while the table answered the rest.
    assert [r.getMessage() for r in caplog.records].count(
        "event=cache_redis_unavailable error=ConnectionError retry_in_seconds=15"
    ) == 1
    await gone.aclose()


async def test_titles_looked_up_at_once_are_each_kept_in_the_table_and_read_back_together(
    db: Database, redis_client: aioredis.Redis
) -> None:
    fake_films = FakeTmdb(synthetic_titles(20))
    films = [t.id for t in fake_films.titles]
    async with serve_tmdb(fake_films) as fake, tmdb_provider(fake) as tmdb:
        service = discovery_service(db, redis_client, tmdb)
        looked_up = await asyncio.gather(
            *(service.details(ContentType.MOVIE, ExternalIds(tmdb_id=film)) for film in films)
        )
        await service.settled()  # written behind the lookups, the writes of one moment together
        async with db.session() as session:
            kept = (await session.execute(select(func.count()).select_from(DiscoveryCacheEntry))).scalar_one()
        assert kept == len(films)

        await redis_client.flushdb()
        restarted = discovery_service(db, redis_client, tmdb)
        calls = fake.total_calls
        again = await asyncio.gather(
            *(restarted.details(ContentType.MOVIE, ExternalIds(tmdb_id=film)) for film in films)
        )
        assert fake.total_calls == calls  # every one read back from the table
        assert [d.title.title for d in again] == [d.title.title for d in looked_up]


async def test_stale_pages_are_served_marked_when_the_upstream_fails(
    db: Database, redis_client: aioredis.Redis
) -> None:
    now = [datetime(2026, 11, 24, tzinfo=UTC).timestamp()]
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        service = discovery_service(db, redis_client, tmdb, clock=lambda: now[0])
        fresh = await service.discover(DiscoveryKind.TOP_RATED, ContentType.MOVIE)
        assert not fresh.stale
        now[0] += 2 * 86400  # past the day top-rated pages stay fresh
        fake.faults = [500, 500, 500]
        stale = await service.discover(DiscoveryKind.TOP_RATED, ContentType.MOVIE)
        assert stale.stale
        assert [i.title.title for i in stale.items] == [i.title.title for i in fresh.items]
        fake.faults = [503, 503, 503]
        with pytest.raises(UpstreamUnavailable, match="TMDB can't be reached right now, try again in a minute"):
            await service.discover(DiscoveryKind.POPULAR, ContentType.MOVIE)  # nothing cached to fall back on
        refreshed = await service.discover(DiscoveryKind.TOP_RATED, ContentType.MOVIE)  # the upstream is back
        assert not refreshed.stale


async def test_an_id_search_on_tmdb_finds_a_show_once_under_the_type_tmdb_gives_it(
    db: Database, redis_client: aioredis.Redis
) -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        service = discovery_service(db, redis_client, tmdb)
        drama = await service.search("tvdb:81189")
        anime = await service.search("tmdb:1429")
        chosen = await service.search("tvdb:81189", ContentType.ANIME)  # asked for by type: the choice stands
    assert [(i.title.title, i.title.type) for i in drama.items] == [("Breaking Bad", ContentType.SERIES)]
    assert [(i.title.title, i.title.type) for i in anime.items if i.title.type != ContentType.MOVIE] == [
        ("Attack on Titan", ContentType.ANIME)
    ]
    assert [(i.title.title, i.title.type) for i in chosen.items] == [("Breaking Bad", ContentType.ANIME)]


async def test_a_thousand_identical_cold_searches_make_one_upstream_call(
    db: Database, redis_client: aioredis.Redis
) -> None:
    async with serve_tmdb() as fake, tmdb_provider(fake) as tmdb:
        service = discovery_service(db, redis_client, tmdb)
        fake.hold = asyncio.Event()
        searches = [asyncio.ensure_future(service.search("matrix")) for _ in range(1000)]
        await asyncio.sleep(0.2)
        fake.hold.set()
        pages = await asyncio.gather(*searches)
    assert fake.calls["search/multi"] == 1
    assert {len(page.items) for page in pages} == {2}


async def test_page_windows_of_other_sizes(db: Database, redis_client: aioredis.Redis) -> None:
    service = discovery_service(db, redis_client, CATALOG)
    whole = await service.discover(DiscoveryKind.POPULAR, None, page=1, page_size=20)
    second = await service.discover(DiscoveryKind.POPULAR, None, page=2, page_size=20)
    sevens = await service.discover(DiscoveryKind.POPULAR, None, page=3, page_size=7)  # items 14..20
    expected = [*whole.items, *second.items][14:21]
    assert [i.title.title for i in sevens.items] == [i.title.title for i in expected]
    with pytest.raises(InvalidInput):
        await service.discover(DiscoveryKind.POPULAR, None, page=0)
    with pytest.raises(InvalidInput):
        await service.discover(DiscoveryKind.POPULAR, None, page_size=500)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        # 10,000 characters, built by repeating a random piece (Hypothesis draws at most a few thousand).
        st.text(min_size=1, max_size=40).map(lambda piece: (piece * (10_000 // len(piece) + 1))[:10_000]),
        st.just(""),
    )
)
def test_any_search_text_gets_an_answer_or_a_clear_error(text: str) -> None:
    try:
        query = parse_search(text)
    except InvalidInput as error:
        assert str(error)
        return
    page = asyncio.run(CATALOG.search(query.text, None, page=1, year=query.year))
    assert page.total_results >= len(page.items)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x" * 10_000,
        "\x00\x01\x02",
        "🎬" * 3000,
        "ﷺ" * 500,
        "a\u202eb",
        "%' OR 1=1;--",
        "tmdb:" + "9" * 50,
        "year:99999999999",
    ],
)
async def test_hostile_search_through_the_whole_service(db: Database, redis_client: aioredis.Redis, text: str) -> None:
    service = discovery_service(db, redis_client, CATALOG)
    try:
        page = await service.search(text)
    except InvalidInput as error:
        assert str(error)
    else:
        assert page.total_results >= 0
