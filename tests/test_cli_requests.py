"""`idkarr request` end to end against the offline catalog."""

from __future__ import annotations

import json

from .conftest import Idkarr
from .contracts import REQUEST_FIELDS


def test_request_lifecycle_from_the_shell(idkarr: Idkarr) -> None:
    for name, role in (("alice", "user"), ("bob", "user"), ("mod", "moderator"), ("vera", "viewer")):
        assert idkarr("user", "add", name, "--role", role).returncode == 0
    made = idkarr(
        "request", "create", "--as", "alice", "--type", "series", "--tvdb", "81189", "--seasons", "1-2", "--json"
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["outcome"] == "created"
    assert created["seasons"] == [1, 2]
    joined = json.loads(
        idkarr(
            "request", "create", "--as", "bob", "--type", "series", "--tvdb", "81189", "--seasons", "2,3", "--json"
        ).stdout
    )
    assert (joined["outcome"], joined["added_seasons"], joined["watchers"]) == ("joined", [3], ["bob"])

    refused = idkarr("request", "create", "--as", "vera", "--type", "movie", "--tmdb", "603")
    assert refused.returncode == 1
    assert "vera (viewer) may not request movies" in refused.stderr
    not_allowed = idkarr("request", "approve", str(created["id"]), "--as", "alice")
    assert not_allowed.returncode == 1
    assert "may not approve or deny" in not_allowed.stderr

    assert "approved" in idkarr("request", "approve", str(created["id"]), "--as", "mod").stdout
    again = idkarr("request", "deny", str(created["id"]), "--as", "mod", "--reason", "too late")
    assert again.returncode == 1
    assert "already approved by mod" in again.stderr

    listed = json.loads(idkarr("request", "list", "--status", "approved", "--json").stdout)
    assert [row["title"] for row in listed] == ["Breaking Bad"]
    assert set(listed[0]) >= REQUEST_FIELDS
    assert listed[0]["approved_by"] == "mod"

    film = json.loads(idkarr("request", "create", "--as", "alice", "--type", "movie", "--tmdb", "603", "--json").stdout)
    idkarr("request", "deny", str(film["id"]), "--as", "mod", "--reason", "not this year")
    shown = idkarr("request", "show", str(film["id"])).stdout
    assert "[denied], requested by alice, denied by mod" in shown  # the decider, not "approved by"


def test_request_input_mistakes_get_one_clear_line(idkarr: Idkarr) -> None:
    idkarr("user", "add", "alice")
    cases = [
        (("request", "create", "--as", "alice", "--type", "movie"), "exactly one of --tmdb or --tvdb"),
        (("request", "create", "--as", "alice", "--type", "film", "--tmdb", "1"), "not a content type"),
        (("request", "create", "--as", "nobody", "--type", "movie", "--tmdb", "603"), "no user named"),
        (
            ("request", "create", "--as", "alice", "--type", "series", "--tvdb", "81189", "--seasons", "x"),
            "not a season number",
        ),
        (
            ("request", "create", "--as", "alice", "--type", "series", "--tvdb", "81189", "--seasons", "7"),
            "has no season 7",
        ),
        (("request", "create", "--as", "alice", "--type", "movie", "--tmdb", "424242424"), "has no such title"),
        (("request", "deny", "99", "--as", "admin", "--reason", "no"), "no request #99"),
        (("request", "list", "--status", "lost"), "not a request status"),
    ]
    for args, expected in cases:
        result = idkarr(*args)
        assert result.returncode == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_after_the_decision_from_the_shell_edit_fail_retry_and_arrive(idkarr: Idkarr) -> None:
    for name, role in (("alice", "user"), ("bob", "user"), ("mod", "moderator")):
        assert idkarr("user", "add", name, "--role", role).returncode == 0

    def request(*args: str) -> dict[str, object]:
        result = idkarr("request", *args, "--json")
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    show = request("create", "--as", "alice", "--type", "series", "--tvdb", "81189", "--seasons", "1")
    film = request("create", "--as", "alice", "--type", "movie", "--tmdb", "603")
    show_id, film_id = str(show["id"]), str(film["id"])

    not_hers = idkarr("request", "edit", show_id, "--as", "bob", "--seasons", "1-3")
    assert not_hers.returncode == 1
    assert "only the person who made request" in not_hers.stderr
    no_such = idkarr("request", "edit", show_id, "--as", "alice", "--seasons", "9")
    assert no_such.returncode == 1
    assert "has no season 9" in no_such.stderr
    edited = idkarr("request", "edit", show_id, "--as", "alice", "--seasons", "1-3")
    assert "seasons 1, 2, 3 [pending]" in edited.stdout, edited.stderr

    for request_id in (show_id, film_id):
        assert idkarr("request", "approve", request_id, "--as", "mod").returncode == 0
    typo = idkarr("request", "available", show_id, "--seasons", "12")
    assert typo.returncode == 1
    assert "has no season 12" in typo.stderr
    film_seasons = idkarr("request", "available", film_id, "--seasons", "1")
    assert film_seasons.returncode == 1
    assert "films have no seasons" in film_seasons.stderr
    assert "[partial]" in idkarr("request", "available", show_id, "--seasons", "1").stdout
    assert "[available]" in idkarr("request", "available", show_id).stdout  # every season it asked for

    failed = idkarr("request", "failed", film_id, "--reason", "Radarr: no root folder")
    assert "[failed]" in failed.stdout, failed.stderr
    refused = idkarr("request", "retry", film_id, "--as", "alice")
    assert refused.returncode == 1
    assert "may not approve or deny" in refused.stderr
    assert "[approved]" in idkarr("request", "retry", film_id, "--as", "mod").stdout
    assert "[available]" in idkarr("request", "available", film_id).stdout
    twice = idkarr("request", "available", film_id)
    assert twice.returncode == 1
    assert "already available" in twice.stderr

    listed = json.loads(idkarr("activity", "--type", "media_added", "--type", "movie_added", "--json").stdout)
    assert [(row["type"], row["title"]) for row in listed] == [("movie_added", "The Matrix")]
