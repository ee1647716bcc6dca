"""The store's schema migrations (Alembic), configured in code by agent/store/migrate.py (there
is no alembic.ini). A schema change: edit agent/store/schema.py, then write a revision in
versions/ (`xunjian db revision -m "what"` drafts one from the difference) and a test that
upgrades a store of the previous revision and checks its rows survived."""
