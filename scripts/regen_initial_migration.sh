#!/usr/bin/env bash
# The schema is frozen: 0001 is what pilot databases were created with, so it is never
# regenerated again. Every schema change is a new revision: scripts/new_migration.sh "what".
echo "regen_initial_migration.sh: refused. The initial schema is frozen (pilot databases were" >&2
echo "created with it); add a revision instead: scripts/new_migration.sh \"what changes\"" >&2
exit 2
