"""The store's schema migrations (Alembic), configured in code by agent/store/migrate.py (there
is no alembic.ini). A schema change: edit agent/store/schema.py, draft a revision from the
difference with `python -m agent.store.migrate "what changed"` (written into versions/, review
it), and add a test that upgrades a store of the previous revision and checks its rows survived
(tests/test_migrations.py does so for the baseline)."""
