"""Bringing a database to the current schema with Alembic.

The engine's migrations live in engine/migrations; layers above add their own
version folders (each an Alembic branch of its own), so the engine never learns
about their tables while one ``upgrade`` still brings everything to head.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(extra_version_folders: Iterable[Path] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    folders = [MIGRATIONS / "versions", *extra_version_folders]
    config.set_main_option("version_locations", " ".join(str(folder) for folder in folders))
    config.set_main_option("path_separator", "space")
    return config


def upgrade(engine: Engine, extra_version_folders: Iterable[Path] = (), revision: str = "heads") -> None:
    config = alembic_config(extra_version_folders)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
