"""The JSON fields operators and front ends rely on; one definition for every test that checks them. A
contract is what must be there: a field added for new consumers breaks no old one."""

ITEM_FIELDS = {
    "id",
    "type",
    "title",
    "year",
    "poster",
    "overview",
    "rating",
    "vote_count",
    "genres",
    "popularity",
    "release_date",
    "tmdb_id",
    "tvdb_id",
    "imdb_id",
    "exists_in_library",
    "media_id",
    "request_status",
}

REQUEST_FIELDS = {
    "id",
    "status",
    "content_type",
    "title",
    "year",
    "tmdb_id",
    "tvdb_id",
    "imdb_id",
    "seasons",
    "requested_by",
    "watchers",
    "approved_by",
    "denied_by",
    "denial_reason",
    "created_at",
    "modified_at",
}

WATCHLIST_FIELDS = {
    "id",
    "user",
    "type",
    "content_type",
    "title",
    "year",
    "tmdb_id",
    "tvdb_id",
    "imdb_id",
    "season",
    "episode",
    "rating",
    "review",
    "added_at",
    "modified_at",
}
