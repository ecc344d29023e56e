"""`idkarr db`: apply migrations and show where the schema stands."""

from __future__ import annotations

import typer

from bots.cli.common import run, settings_of
from core.db import migrate
from core.runtime import open_database
from core.services.users import ensure_bootstrap_admin

app = typer.Typer(help="Database schema: apply migrations, show the current revision.", no_args_is_help=True)


@app.command()
def upgrade(
    ctx: typer.Context,
    revision: str = typer.Option("head", help="Revision to upgrade to."),
) -> None:
    """Apply migrations up to REVISION (the newest by default)."""
    settings = settings_of(ctx)

    async def go() -> None:
        async with open_database(settings) as database:
            before = await migrate.read_schema_state(database)
            after = await migrate.upgrade(database, revision)
            moved = "already at" if before.current == after.current else "upgraded to"
            typer.echo(f"database {moved} revision {after.current}" + (" (head)" if after.is_current else ""))
            if after.is_current and await ensure_bootstrap_admin(database, settings.users.bootstrap_admin):
                typer.echo(f"created the bootstrap admin {settings.users.bootstrap_admin!r}")

    run(go())


@app.command()
def current(ctx: typer.Context) -> None:
    """Show the database's schema revision and whether it is the one this idkarr needs."""
    settings = settings_of(ctx)

    async def go() -> None:
        async with open_database(settings) as database:
            state = await migrate.read_schema_state(database)
        if state.current is None:
            typer.echo(f"none (this idkarr needs {state.head}: run `idkarr db upgrade`)")
        elif not state.known:
            typer.echo(f"{state.current} (unknown to this idkarr: migrated by a newer version)")
        elif state.is_current:
            typer.echo(f"{state.current} (head)")
        else:
            typer.echo(f"{state.current} (behind {state.head}: run `idkarr db upgrade`)")

    run(go())


@app.command()
def downgrade(
    ctx: typer.Context,
    revision: str = typer.Argument(..., help="Revision to go back to; `base` removes every table."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: downgrading drops tables and their data."),
) -> None:
    """Undo migrations down to REVISION."""
    if not yes:
        typer.echo("idkarr: downgrading drops tables and the data in them; add --yes to go ahead", err=True)
        raise typer.Exit(1)
    settings = settings_of(ctx)

    async def go() -> None:
        async with open_database(settings) as database:
            state = await migrate.downgrade(database, revision)
        typer.echo(f"database at revision {state.current or 'base (empty)'}")

    run(go())
