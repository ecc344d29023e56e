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
    assert set(listed[0]) == REQUEST_FIELDS
    assert listed[0]["approved_by"] == "mod"


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
