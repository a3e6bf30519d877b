# The newcomer's commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint bench bench-scale bench-delivery bench-soak profile rasa rasa-install services chromium fonts media-tools clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

## Run the bot, the web chat and the panel on SQLite with the demo knowledge base.
run: $(STAMP) fonts
	$(BIN)/rumourbot run --demo

## Set up and run the whole suite, with Rasa and the browser tests: on SQLite, and beside it
## the database tests on PostgreSQL (both wait on timers, sockets and the disk more than they
## use the CPU, so side by side they take little longer than the SQLite run alone). The
## PostgreSQL run's output is printed when both have finished; either failing fails `make test`.
test: $(STAMP) rasa-install chromium fonts media-tools services
	@log=$$(mktemp); \
	RUMOURBOT_TEST_DATABASE=postgres $(BIN)/python -m pytest -q -m db >$$log 2>&1 & postgres=$$!; \
	echo "== SQLite: the whole suite (PostgreSQL's database tests run beside it)"; \
	RUMOURBOT_REQUIRE_RASA=1 $(BIN)/python -m pytest -q; sqlite_rc=$$?; \
	wait $$postgres; postgres_rc=$$?; \
	echo "== PostgreSQL: the database tests (-m db)"; cat $$log; rm -f $$log; \
	echo "== SQLite exit $$sqlite_rc, PostgreSQL exit $$postgres_rc"; \
	test $$sqlite_rc -eq 0 -a $$postgres_rc -eq 0

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgres: $(STAMP)
	RUMOURBOT_TEST_DATABASE=postgres $(BIN)/python -m pytest -q -m db

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot domain matching nlu factcheck_connectors admin

## Benchmarks: figures are written under bench/ and printed (docs/benchmarks in the README).
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python scripts/bench_matching.py bench
	OMP_NUM_THREADS=1 $(BIN)/python scripts/bench_matching.py replay
	$(BIN)/python -m nlu.evaluate
	$(BIN)/python scripts/bench_roundtrip.py
	$(BIN)/python scripts/bench_ingest.py --embedder hashing
	$(BIN)/python scripts/bench_media.py
	$(BIN)/python scripts/bench_normalise.py

## The slow ones: the 100k / 1M matching pools and ingesting 10,000 items with the real model.
bench-scale: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python scripts/bench_matching.py scale --sizes 100000,1000000
	$(BIN)/python scripts/bench_ingest.py

## The production shape under load (PostgreSQL, Redis, real web and worker processes), ~18 min:
## broadcasts to 4,000 subscribers on Telegram and WhatsApp, the CPU and database work per
## message (cached viral forwards, new claims), the realistic mix at rising rates, then 1 and 2
## web/worker pairs on test hosts of their own (network namespaces: needs root); the
## figures go to bench/ and the README's table, beside the previous run's (scripts/bench_delivery_report.py).
bench-delivery: $(STAMP) services
	@uptime
	$(BIN)/python scripts/bench_broadcast.py --subscribers 4000
	$(BIN)/python scripts/bench_broadcast_whatsapp.py --subscribers 4000
	$(BIN)/python scripts/bench_load.py --webs 1 --rates 40 --duration 30 --viral 1 --photo 0 --new-claims 0 --out bench/load_cost_viral.json
	$(BIN)/python scripts/bench_load.py --webs 1 --rates 12 --duration 30 --viral 0 --photo 0 --new-claims 1 --out bench/load_cost_new.json
	$(BIN)/python scripts/bench_load.py --webs 1 --rates 50,100,150 --duration 30 --stop-over-slo
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python scripts/bench_scaleout.py --rates 80,160,240,320 --duration 30; \
	else echo "scale-out skipped: network namespaces need root (sudo make bench-delivery)"; fi
	$(BIN)/python scripts/bench_delivery_report.py

## A memory soak (30 minutes at 40 messages/s): RSS, descriptors, sockets, asyncio tasks and
## PostgreSQL connections per process, with their slopes after warm-up (bench/load_soak.md).
bench-soak: $(STAMP) services
	$(BIN)/python scripts/bench_load.py --webs 1 --rates 40 --minutes 30 --warmup 120 --out bench/load_soak.json

## Where the CPU goes per message (py-spy; docs/profile.md): profiles under bench/profiles/.
profile: $(STAMP) services
	$(BIN)/python scripts/bench_load.py --webs 1 --rates 40 --duration 20 --profile --out bench/load_profile.json

## The Rasa NLU service in its own Python 3.10 env (install, train, serve on 127.0.0.1:5005).
rasa:
	scripts/rasa.sh all

rasa-install:
	scripts/rasa.sh install
	scripts/rasa.sh train

## PostgreSQL and Redis on loopback (started when they are not running).
services:
	scripts/ensure_services.sh

chromium:
	@command -v chromium >/dev/null || scripts/install_chromium.sh

## Noto fonts and libraqm for share cards (a no-op when installed).
fonts:
	@scripts/install_fonts.sh

## Tesseract (six language packs), ffmpeg, espeak-ng and Noto fonts from Debian (no-op when present).
media-tools:
	scripts/install_media_tools.sh

clean:
	rm -rf $(VENV) .rasa-venv rumourbot.db*
