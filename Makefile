# The venv path: everything runs from .venv, which the first target that needs it creates.
# A ROS 2 workspace builds this package with colcon instead (see package.xml).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# `make demo TASK=push`: the pushing demo (config/demo_push.yaml, models/push); the reacher by default.
TASK ?= reacher

.PHONY: install test demo lint docs clean distclean

install: $(STAMP)

# Re-install whenever the pins or the package metadata change.
# The editable install forces the PEP 517 path: a legacy `setup.py develop` would follow
# setup.cfg and put the console scripts in .venv/lib/ros2_vid2world instead of .venv/bin.
# --no-build-isolation builds it with the setuptools pinned in requirements.txt.
$(STAMP): requirements.txt setup.py setup.cfg
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements.txt
	$(VENV)/bin/pip install --no-deps --no-build-isolation --use-pep517 -e .
	touch $@

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q test $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/vid2world demo --task $(TASK)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The README's parameter tables and config/vid2world.yaml, from the settings' declarations.
docs: $(STAMP)
	$(VENV)/bin/python -m ros2_vid2world.settings_reference

clean:
	rm -rf build install log dist .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
