"""Alembic environment: the application's metadata; batch mode on SQLite."""

import logging
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
    with connectable.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
