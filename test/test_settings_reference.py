"""The README's parameter tables and config/vid2world.yaml agree with the settings' declarations."""

import dataclasses

import yaml

from ros2_vid2world import settings_reference
from ros2_vid2world.ros.node_config import node_parameters
from ros2_vid2world.settings import Declared


def test_readme_tables_and_node_yaml_are_generated_from_the_declarations_now():
    assert settings_reference.stale_files() == [], "run `python -m ros2_vid2world.settings_reference`"


def test_a_changed_default_makes_them_stale(monkeypatch):
    changed = []
    for name, declared in node_parameters():
        if name == "planner.population":
            declared = dataclasses.replace(declared, default=65)
        changed.append((name, declared))
    monkeypatch.setattr(settings_reference, "node_parameters", lambda: changed)
    monkeypatch.setitem(settings_reference.TABLES, "planner_node", lambda: changed)
    assert settings_reference.stale_files() == [settings_reference.README, settings_reference.NODE_YAML]
    assert "| `planner.population` | `65` |" in settings_reference.readme_with_tables(
        settings_reference.README.read_text()
    )


def test_the_yaml_reads_back_as_the_declared_defaults_except_the_documented_overrides():
    values = yaml.safe_load(settings_reference.node_yaml())["/**"]["ros__parameters"]
    for name, declared in node_parameters():
        expected = settings_reference.YAML_OVERRIDES.get(name, (declared.default,))[0]
        if isinstance(expected, tuple):
            expected = list(expected)
        assert values[name] == expected and type(values[name]) is type(expected), name


def test_every_table_row_names_unit_allowed_values_and_whether_it_is_dynamic():
    declared = Declared("x", float, 0.5, dataclasses.replace(
        dict(node_parameters())["max_input_age"].rule, description="Age."
    ))
    row = settings_reference.table([("x", declared)]).splitlines()[-1]
    assert row == "| `x` | `0.5` | s | in [0.01, 3600] | yes | Age. |"
