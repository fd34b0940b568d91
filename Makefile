# Convenience targets; each is one of the README's commands.
.PHONY: install test test-slow lint bench

install:
	pip install -e '.[test]'

test:            ## the README's test command (CI runs it through .ci/run)
	pip install -e '.[test]' && pytest

test-slow:       ## opt-in slow reproduction tests
	pytest -m slow

lint:
	ruff check src tests benchmarks

bench:           ## the main job on the embedded digits set
	noisylabels bench
