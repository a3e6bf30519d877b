#!/usr/bin/env bash
# Rasa NLU service for rumourbot: its own Python 3.10 virtual env, training and serving.
#
#   scripts/rasa.sh install   create .rasa-venv from nlu/rasa/requirements.txt (skipped when
#                             the env exists and the requirements are unchanged)
#   scripts/rasa.sh train     train nlu/rasa into nlu/rasa/models/ (skipped when unchanged: the
#                             model is cached under $RUMOURBOT_CACHE, keyed by a hash of its
#                             config, domain, data and Rasa's pinned versions)
#   scripts/rasa.sh run       serve `rasa run --enable-api` on $RASA_HOST:$RASA_PORT with a token
#   scripts/rasa.sh all       install (if needed), train, run
#
# Environment: RASA_VENV (default <repo>/.rasa-venv), RASA_PYTHON (a Python 3.10 interpreter),
# RASA_HOST (127.0.0.1), RASA_PORT (5005), RUMOURBOT_RASA_TOKEN (generated into
# nlu/rasa/.rasa-token when unset), RUMOURBOT_CACHE (default ~/.cache/rumourbot: trained
# models, shared by every clone on the machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$ROOT/nlu/rasa"
VENV="${RASA_VENV:-$ROOT/.rasa-venv}"
HOST="${RASA_HOST:-127.0.0.1}"
PORT="${RASA_PORT:-5005}"
TOKEN_FILE="$PROJECT/.rasa-token"
MODEL="$PROJECT/models/rumourbot.tar.gz"
CACHE="${RUMOURBOT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rumourbot}/rasa-models"

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

# sha256 over the names and contents of the given files, in a stable order.
hash_of() {
  local file
  for file in "$@"; do printf '%s\n' "${file#"$PROJECT"/}"; sha256sum <"$file"; done \
    | sha256sum | cut -c1-32
}

requirements_hash() { hash_of "$PROJECT/requirements.txt" "$PROJECT/constraints.txt"; }

# What a trained model depends on: Rasa's versions, the pipeline, the domain, the data.
training_hash() {
  local files
  mapfile -t files < <(find "$PROJECT/data" -type f -name '*.yml' | LC_ALL=C sort)
  hash_of "$PROJECT/requirements.txt" "$PROJECT/constraints.txt" "$PROJECT/config.yml" \
    "$PROJECT/domain.yml" "${files[@]}"
}

cmd_install() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(requirements_hash)"
  if [[ -x "$VENV/bin/rasa" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "rasa.sh: $VENV is up to date"
    return 0
  fi
  local py
  py="$(find_python310)" || die "no Python 3.10 found. Rasa 3.6 needs it: install one with \
'pyenv install 3.10' or point RASA_PYTHON at a python3.10 interpreter."
  echo "rasa.sh: creating $VENV with $py"
  "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel
  "$VENV/bin/python" -m pip install --quiet -r "$PROJECT/requirements.txt"
  "$VENV/bin/rasa" --version
  echo "$want" >"$stamp"
}

require_venv() {
  [[ -x "$VENV/bin/rasa" ]] || die "no Rasa env at $VENV: run 'scripts/rasa.sh install' \
(make rasa-install) first."
}

cmd_train() {
  local key stamp="$PROJECT/models/rumourbot.sha256"
  key="$(training_hash)"
  if [[ -f "$MODEL" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    echo "rasa.sh: model up to date ($key)"
    return 0
  fi
  mkdir -p "$PROJECT/models"
  if [[ -f "$CACHE/$key.tar.gz" ]]; then
    cp "$CACHE/$key.tar.gz" "$MODEL.partial" && mv "$MODEL.partial" "$MODEL"
    echo "$key" >"$stamp"
    echo "rasa.sh: model $key taken from the cache ($CACHE)"
    return 0
  fi
  require_venv
  cd "$PROJECT"
  rm -f "$stamp"
  "$VENV/bin/rasa" train --config config.yml --domain domain.yml --data data --out models \
    --fixed-model-name rumourbot || die "training failed (see the output above)"
  [[ -f "$MODEL" ]] || die "training failed: no model in $PROJECT/models"
  mkdir -p "$CACHE"
  cp "$MODEL" "$CACHE/$key.tar.gz.partial" && mv "$CACHE/$key.tar.gz.partial" "$CACHE/$key.tar.gz"
  echo "$key" >"$stamp"
  echo "rasa.sh: trained model $key (cached in $CACHE)"
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
  [[ -f "$MODEL" ]] || die "no trained model: run 'scripts/rasa.sh train'."
  local tok
  tok="$(token)"
  echo "rasa.sh: serving http://$HOST:$PORT (set RUMOURBOT_RASA_URL to it; token from" \
    "RUMOURBOT_RASA_TOKEN or $TOKEN_FILE)"
  cd "$PROJECT"
  exec "$VENV/bin/rasa" run --enable-api --interface "$HOST" --port "$PORT" \
    --auth-token "$tok" --model "$MODEL"
}

case "${1:-}" in
  install) cmd_install ;;
  train) cmd_train ;;
  run) cmd_run ;;
  all) cmd_install; cmd_train; cmd_run ;;
  *) echo "usage: $0 {install|train|run|all}" >&2; exit 2 ;;
esac
