#!/usr/bin/env bash
# Rasa NLU service for rumourbot: its own Python 3.10 virtual env, training and serving.
#
#   scripts/rasa.sh install   create .rasa-venv from nlu/rasa/requirements.txt
#   scripts/rasa.sh train     train nlu/rasa into nlu/rasa/models/ (skipped when unchanged)
#   scripts/rasa.sh run       serve `rasa run --enable-api` on $RASA_HOST:$RASA_PORT with a token
#   scripts/rasa.sh all       install (if needed), train, run
#
# Environment: RASA_VENV (default <repo>/.rasa-venv), RASA_PYTHON (a Python 3.10 interpreter),
# RASA_HOST (127.0.0.1), RASA_PORT (5005), RUMOURBOT_RASA_TOKEN (generated into
# nlu/rasa/.rasa-token when unset).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$ROOT/nlu/rasa"
VENV="${RASA_VENV:-$ROOT/.rasa-venv}"
HOST="${RASA_HOST:-127.0.0.1}"
PORT="${RASA_PORT:-5005}"
TOKEN_FILE="$PROJECT/.rasa-token"

# Rasa's own noise: no usage telemetry, no SQLAlchemy 2.0 and TensorFlow start-up chatter.
export RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2

die() { echo "rasa.sh: $*" >&2; exit 1; }

# A Python 3.10 that really runs: RASA_PYTHON, then pyenv's newest 3.10.x, then a system
# python3.10. pyenv's shim on PATH refuses to run when 3.10 is not the selected
# version, so each candidate is tried, not just looked up.
find_python310() {
  local candidates=()
  [[ -n "${RASA_PYTHON:-}" ]] && candidates+=("$RASA_PYTHON")
  local pyenv_root=""
  if command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root 2>/dev/null || true)"; fi
  [[ -z "$pyenv_root" && -d "${HOME:-}/.pyenv" ]] && pyenv_root="$HOME/.pyenv"
  if [[ -n "$pyenv_root" ]]; then
    local found
    found="$(ls -d "$pyenv_root"/versions/3.10.* 2>/dev/null | sort -V -r || true)"
    for dir in $found; do candidates+=("$dir/bin/python"); done
  fi
  candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)
  command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
  for py in "${candidates[@]}"; do
    if [[ -x "$py" ]] && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' \
        >/dev/null 2>&1; then
      echo "$py"; return 0
    fi
  done
  return 1
}

cmd_install() {
  local py
  py="$(find_python310)" || die "no Python 3.10 found. Rasa 3.6 needs it: install one with \
'pyenv install 3.10' or point RASA_PYTHON at a python3.10 interpreter."
  echo "rasa.sh: creating $VENV with $py"
  "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel
  "$VENV/bin/python" -m pip install --quiet -r "$PROJECT/requirements.txt"
  "$VENV/bin/rasa" --version
}

require_venv() {
  [[ -x "$VENV/bin/rasa" ]] || die "no Rasa env at $VENV: run 'scripts/rasa.sh install' \
(make rasa-install) first."
}

cmd_train() {
  require_venv
  cd "$PROJECT"
  # `rasa train` skips training when config, domain and data are unchanged.
  "$VENV/bin/rasa" train --config config.yml --domain domain.yml --data data --out models \
    --fixed-model-name rumourbot || die "training failed (see the output above)"
  [[ -f models/rumourbot.tar.gz ]] || die "training failed: no model in $PROJECT/models"
}

token() {
  if [[ -n "${RUMOURBOT_RASA_TOKEN:-}" ]]; then echo "$RUMOURBOT_RASA_TOKEN"; return; fi
  if [[ ! -s "$TOKEN_FILE" ]]; then
    (umask 077; "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))' \
      >"$TOKEN_FILE")
    echo "rasa.sh: generated an auth token in $TOKEN_FILE" >&2
  fi
  cat "$TOKEN_FILE"
}

cmd_run() {
  require_venv
  [[ -f "$PROJECT/models/rumourbot.tar.gz" ]] || die "no trained model: run 'scripts/rasa.sh train'."
  local tok
  tok="$(token)"
  echo "rasa.sh: serving http://$HOST:$PORT (set RUMOURBOT_RASA_URL to it; token from" \
    "RUMOURBOT_RASA_TOKEN or $TOKEN_FILE)"
  cd "$PROJECT"
  exec "$VENV/bin/rasa" run --enable-api --interface "$HOST" --port "$PORT" \
    --auth-token "$tok" --model models/rumourbot.tar.gz
}

case "${1:-}" in
  install) cmd_install ;;
  train) cmd_train ;;
  run) cmd_run ;;
  all) [[ -x "$VENV/bin/rasa" ]] || cmd_install; cmd_train; cmd_run ;;
  *) echo "usage: $0 {install|train|run|all}" >&2; exit 2 ;;
esac
