"""Alembic version folder of the web layer's tables (see web.system.upgrade_schema)."""
