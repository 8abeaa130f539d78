"""The demo's settings: the shipped config/demo.yaml, the node names, the episode seeds."""

import numpy as np
import pytest
import yaml

from ros2_vid2world.demo.demo_settings import (
    PLANNER_NODE,
    SIM_NODE,
    DemoSettings,
    episode_seeds,
    find_shared,
    node_sections,
)

from .conftest import SHIPPED_CONFIG


def settings(tmp_path, config=SHIPPED_CONFIG, **values):
    return DemoSettings.from_config(config, model_path=tmp_path, out=tmp_path / "out", **values)


def test_node_names_are_the_nodes_own():
    from ros2_vid2world.ros.planner_node import NODE_NAME as PLANNER_NAME
    from ros2_vid2world.sim.sim_node import NODE_NAME as SIM_NAME

    assert (SIM_NODE, PLANNER_NODE) == (f"/{SIM_NAME}", f"/{PLANNER_NAME}")


def test_shipped_config_sets_only_parameters_the_nodes_declare_with_valid_values(tmp_path):
    from ros2_vid2world.ros.node_config import node_parameters
    from ros2_vid2world.sim.sim_node_config import sim_parameters

    sim, planner = node_sections(SHIPPED_CONFIG)
    sim_declared, planner_declared = dict(sim_parameters()), dict(node_parameters())
    assert not set(sim) - set(sim_declared), "a typo would be ignored by the sim"
    unknown = set(planner) - set(planner_declared) - {"use_sim_time"}
    assert not unknown, "a typo would be ignored by the planner"
    for name, value in planner.items():  # rclpy refuses an int for a double parameter
        declared = planner_declared.get(name)
        if declared is not None and declared.kind is float:
            assert isinstance(value, float), name
    demo = settings(tmp_path)  # every value passes the nodes' own declarations
    assert demo.planner_node.planner.population == planner["planner.population"]
    assert demo.robot.max_joint_velocity == sim["max_joint_velocity"]


def test_a_value_the_declarations_refuse_is_one_line_naming_the_file(tmp_path):
    document = yaml.safe_load(SHIPPED_CONFIG.read_text())
    document[PLANNER_NODE]["ros__parameters"]["planner.elites"] = 0
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=r"bad.yaml'?: `planner.elites` must be an integer >= 1. Got 0."):
        settings(tmp_path, config=config)


def test_shipped_config_matches_the_task(tmp_path):
    demo = settings(tmp_path)
    sim, planner = demo.sim_parameters, demo.planner_parameters
    assert sim["mode"] == "lockstep" and planner["control_rate"] == 0.0 and planner["use_sim_time"] is True
    assert planner["joint_names"] == ["shoulder", "wrist"]
    assert demo.action_bounds() == ([-3.0, -3.0], [3.0, 3.0])
    assert planner["command_topic"] == "/forward_command_controller/commands"
    assert planner["goal_durability"] == "transient_local"  # the sim latches its goal
    assert demo.planner_values()["history_frames"] + demo.planner_values()["horizon"] <= 6  # demo preset
    assert find_shared("config/demo.yaml") == SHIPPED_CONFIG


def test_mismatched_goal_topics_are_refused(tmp_path):
    document = yaml.safe_load(SHIPPED_CONFIG.read_text())
    document[SIM_NODE]["ros__parameters"]["goal_image_topic"] = "/elsewhere"
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match="goal_image_topic must be set and equal"):
        settings(tmp_path, config)


def test_a_config_without_a_node_section_is_refused(tmp_path):
    config = tmp_path / "one.yaml"
    config.write_text(yaml.safe_dump({"/reacher_sim": {"ros__parameters": {"mode": "lockstep"}}}))
    with pytest.raises(ValueError, match="/vid2world_planner: ros__parameters:"):
        settings(tmp_path, config)


@pytest.mark.parametrize("name, value", [("episodes", 0), ("max_steps", 0), ("seed", -1)])
def test_counts_must_be_positive(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"--{name.replace('_', '-')} must be an integer"):
        settings(tmp_path, **{name: value})


def test_goal_source_comes_from_the_config_or_an_override(tmp_path):
    shipped = settings(tmp_path)
    assert (shipped.goal_source, shipped.goal_steps) == ("random", 25)
    demo = settings(tmp_path, sim_overrides={"goal_source": "exploration", "goal_steps": 10})
    assert (demo.goal_source, demo.goal_steps) == ("exploration", 10)
    assert demo.as_dict()["goals"] == {"source": "exploration", "exploration_steps": 10}
    with pytest.raises(ValueError, match="--goals must be one of"):
        settings(tmp_path, sim_overrides={"goal_source": "dataset"})
    with pytest.raises(ValueError, match="--goal-steps must be an integer >= 1"):
        settings(tmp_path, sim_overrides={"goal_steps": 0})


def test_episode_seeds_are_deterministic_prefix_stable_and_not_the_training_sequence():
    assert episode_seeds(0, 10) == episode_seeds(0, 10)
    assert episode_seeds(0, 50)[:10] == episode_seeds(0, 10)
    assert not set(episode_seeds(0, 10)) & set(episode_seeds(1, 10))
    # ReacherEnv(seed=0) (and so `vid2world collect --seed 0`) draws its episodes from this generator.
    training = np.random.default_rng(0).integers(2**31, size=100).tolist()
    assert not set(episode_seeds(0, 100)) & set(training)
