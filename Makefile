VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Database (embedded unless a URL is set), migrate, seed, serve, stream a scripted conversation;
## then keep serving the web chat page until Ctrl-C. ARGS: --port N, --no-serve (exit after the
## script), --details (model, first token, tokens, cost); e.g. make demo ARGS="--port 8010 --details".
demo: install
	$(BIN)/python -m seed.demo $(ARGS)

## Lint, type-check and run every test against a real PostgreSQL.
test: install
	VENV=$(VENV) scripts/test

lint: install
	$(BIN)/ruff format --check . && $(BIN)/ruff check . && $(BIN)/mypy booking seed tests bench && $(BIN)/lint-imports

## Every benchmark (about an hour; bench/README.md lists them with their latest figures).
bench: install
	$(BIN)/python -m bench.seed_bench
	$(BIN)/python -m bench.search_bench
	$(BIN)/python -m bench.agent_bench
	$(BIN)/python -m bench.api_bench --baseline --pin
	$(BIN)/python -m bench.stop_bench --baseline
	$(BIN)/python -m bench.booking_bench
	$(BIN)/python -m bench.jepsen_bench
	$(BIN)/python -m bench.soak_bench --baseline
	$(BIN)/python -m bench.understanding --baseline eeff667

clean:
	-$(BIN)/booking db stop
	rm -rf $(VENV) .booking
