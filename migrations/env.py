"""Alembic environment: the application's metadata; batch mode on SQLite."""

import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name)


def _db():
    return current_app.extensions["migrate"].db


def _configure(**kwargs):
    context.configure(
        target_metadata=_db().metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things: batch mode recreates tables
        **kwargs,
    )


def run_migrations_offline():
    _configure(url=str(_db().engine.url), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = _db().engine
    with (
        connectable.connect() as connection,
        _sqlite_foreign_keys_checked_at_the_end(connection),
    ):
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_checked_at_the_end(connection):
    """SQLite's way to alter a table (batch mode: copy, drop, rename) breaks foreign keys that
    point at it, also its own (credit_ledger's decisions point at its proposals), for a moment.
    SQLite's documented procedure: foreign keys off outside the transaction, then
    ``PRAGMA foreign_key_check`` once the tables are in place, then on again."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection  # autocommit: the app sets isolation_level None
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:10]}")
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
