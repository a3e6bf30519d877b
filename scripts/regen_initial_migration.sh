#!/usr/bin/env bash
# Until the first release, the schema is one initial migration regenerated from the models.
# After a release, add new revisions with `alembic revision --autogenerate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f domain/migrations/versions/0001_initial_schema.py
RUMOURBOT_DATABASE_URL="sqlite+aiosqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate \
  --rev-id 0001 -m "initial schema" >/dev/null
sed -i '/^Create Date:/d' domain/migrations/versions/0001_initial_schema.py
.venv/bin/ruff format -q domain/migrations/versions/0001_initial_schema.py
.venv/bin/ruff check -q --fix domain/migrations/versions/0001_initial_schema.py || true
rm -rf "$tmp"
echo "regenerated domain/migrations/versions/0001_initial_schema.py"
