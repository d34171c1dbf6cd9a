"""The Alembic revisions of issue 13 (t0009_casefile, w0007_casefile) create exactly the tables declared."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import Base
from tasks import contacts  # noqa: F401  (declares complaint_contacts)
from web import progress  # noqa: F401  (declares progress_lookups)

TABLES = {"complaint_contacts", "progress_lookups"}


def test_the_migrations_match_the_models(db):
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [diff for diff in differences if TABLES & set(_names(diff))] == []


def _names(diff) -> list[str]:
    if isinstance(diff, list):
        return [part for item in diff for part in item if isinstance(part, str)]
    names = []
    for part in diff[1:]:
        table = getattr(part, "table", None)
        names.append(getattr(part, "name", None) if table is None else table.name)
    return [name for name in names if name]
