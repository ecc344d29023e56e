"""Database URLs as operators write them (libpq forms), turned into what SQLAlchemy's psycopg driver takes."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["DatabaseUrl", "InvalidDatabaseUrl"]

_ACCEPTED_SCHEMES = {"postgresql", "postgresql+psycopg", "postgres", "postgresql+psycopg_async"}
_SECRET_PARAMETERS = {"password", "sslpassword"}


class InvalidDatabaseUrl(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL URL; `sqlalchemy` picks the driver, `redacted` is the only form fit to print."""

    url: URL

    @classmethod
    def parse(cls, text: str) -> DatabaseUrl:
        text = text.strip()
        if not text:
            raise InvalidDatabaseUrl("is empty")
        scheme = text.split("://", 1)[0].lower() if "://" in text else ""
        if scheme not in _ACCEPTED_SCHEMES:
            raise InvalidDatabaseUrl(
                "must be a PostgreSQL URL such as postgresql://user:password@host:5432/idkarr "
                "or postgresql:///idkarr?host=/run/postgresql"
            )
        if scheme == "postgres":
            # SQLAlchemy dropped the `postgres` alias that libpq and many hosting providers still use.
            text = "postgresql" + text[len("postgres") :]
        try:
            url = make_url(text)
        except (ArgumentError, ValueError) as error:
            raise InvalidDatabaseUrl(f"cannot be parsed: {error}") from None
        if not url.database and "dbname" not in url.query:
            raise InvalidDatabaseUrl("names no database (add /idkarr at the end)")
        try:
            _ = url.port
        except ValueError:
            raise InvalidDatabaseUrl("has a port that is not a number") from None
        if url.password == "":
            # "user:@host" is libpq for "no password"; URL.set() cannot clear a field, so rebuild it.
            url = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
        return cls(url.set(drivername="postgresql+psycopg"))

    @classmethod
    def for_socket(cls, socket_dir: str, database: str, user: str = "postgres") -> DatabaseUrl:
        return cls(URL.create("postgresql+psycopg", username=user, database=database, query={"host": socket_dir}))

    @property
    def sqlalchemy(self) -> str:
        return self.url.render_as_string(hide_password=False)

    @property
    def libpq(self) -> str:
        """The plain libpq form (for psycopg.connect), password included: never print it."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def redacted(self) -> str:
        # libpq also takes the password (and a client key's) as query parameters: hidden like the userinfo's.
        query = {key: ("***" if key.lower() in _SECRET_PARAMETERS else value) for key, value in self.url.query.items()}
        shown = self.url.set(drivername="postgresql", query=query)
        # Unquoted so a socket directory reads as a path: ?host=/run/postgresql, not %2Frun%2Fpostgresql.
        return unquote(shown.render_as_string(hide_password=True))

    @property
    def secrets(self) -> list[str]:
        """The secret values in this URL, to scrub from a driver's error message before it is shown."""
        found = [self.url.password] if self.url.password else []
        for key, value in self.url.query.items():
            if key.lower() in _SECRET_PARAMETERS:
                found.extend([value] if isinstance(value, str) else list(value))
        return [str(secret) for secret in found if secret]

    @property
    def database(self) -> str:
        return self.url.database or str(self.url.query.get("dbname", ""))

    def with_database(self, database: str) -> DatabaseUrl:
        return DatabaseUrl(self.url.set(database=database))
