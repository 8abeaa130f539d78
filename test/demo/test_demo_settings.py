"""The demo's settings: the shipped config/demo.yaml and config/demo_push.yaml, the node names, the episode
seeds."""

import numpy as np
import pytest
import yaml

from ros2_vid2world.demo.demo_settings import (
    DEFAULT_MAX_STEPS,
    PLANNER_NODE,
    SHIPPED_CONFIGS,
    SIM_NODE,
    DemoSettings,
    config_task,
    episode_seeds,
    find_shared,
    node_sections,
    shipped_config,
)

from .conftest import SHIPPED_CONFIG, SHIPPED_PUSH_CONFIG


def settings(tmp_path, config=SHIPPED_CONFIG, **values):
    return DemoSettings.from_config(config, model_path=tmp_path, out=tmp_path / "out", **values)


def test_node_names_are_the_nodes_own():
    from ros2_vid2world.ros.planner_node import NODE_NAME as PLANNER_NAME
    from ros2_vid2world.sim.sim_node import NODE_NAME as SIM_NAME

    assert (SIM_NODE, PLANNER_NODE) == (f"/{SIM_NAME}", f"/{PLANNER_NAME}")


@pytest.mark.parametrize("shipped", [SHIPPED_CONFIG, SHIPPED_PUSH_CONFIG], ids=["reacher", "push"])
def test_shipped_config_sets_only_parameters_the_nodes_declare_with_valid_values(tmp_path, shipped):
    from ros2_vid2world.ros.node_config import node_parameters
    from ros2_vid2world.sim.sim_node_config import sim_parameters

    sim, planner = node_sections(shipped)
    sim_declared, planner_declared = dict(sim_parameters()), dict(node_parameters())
    assert not set(sim) - set(sim_declared), "a typo would be ignored by the sim"
    unknown = set(planner) - set(planner_declared) - {"use_sim_time"}
    assert not unknown, "a typo would be ignored by the planner"
    for name, value in planner.items():  # rclpy refuses an int for a double parameter
        declared = planner_declared.get(name)
        if declared is not None and declared.kind is float:
            assert isinstance(value, float), name
    for name, value in sim.items():
        if sim_declared[name].kind is float:
            assert isinstance(value, float), name
    demo = settings(tmp_path, config=shipped)  # every value passes the nodes' own declarations
    assert demo.planner_node.planner.population == planner["planner.population"]
    assert demo.velocity_limit == sim.get("max_joint_velocity", sim.get("max_pusher_speed"))
    assert demo.max_steps == sim["max_steps"]  # the file's budget is the demo's default


def test_a_value_the_declarations_refuse_is_one_line_naming_the_file(tmp_path):
    document = yaml.safe_load(SHIPPED_CONFIG.read_text())
    document[PLANNER_NODE]["ros__parameters"]["planner.elites"] = 0
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=r"bad.yaml'?: `planner.elites` must be an integer >= 1. Got 0."):
        settings(tmp_path, config=config)


@pytest.mark.parametrize("section, key", [(PLANNER_NODE, "planner.backend"), (SIM_NODE, "max_step")])
def test_a_parameter_no_node_declares_is_refused_not_ignored(tmp_path, section, key):
    document = yaml.safe_load(SHIPPED_CONFIG.read_text())
    document[section]["ros__parameters"][key] = 1  # a typo: the node would ignore it and keep its default
    config = tmp_path / "typo.yaml"
    config.write_text(yaml.safe_dump(document))
    message = rf"typo.yaml'?: the (sim|planner) node declares no parameter \['{key}'\]"
    with pytest.raises(ValueError, match=message):
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


def test_push_config_matches_the_push_task_and_its_model(tmp_path):
    from ros2_vid2world.sim.push_config import PushConfig
    from ros2_vid2world.sim.push_env import JOINT_NAMES

    demo = settings(tmp_path, config=SHIPPED_PUSH_CONFIG)
    sim, planner = demo.sim_parameters, demo.planner_parameters
    assert demo.task == "push" and isinstance(demo.robot, PushConfig)
    assert sim["mode"] == "lockstep" and planner["control_rate"] == 0.0 and planner["use_sim_time"] is True
    assert tuple(planner["joint_names"]) == JOINT_NAMES
    # The planner's bounds are the pusher's speed limit in m/s, the units the sim takes and the model's
    # dataset recorded: a bound above it would plan with velocities the sim clips.
    assert demo.action_bounds() == ([-0.3, -0.3], [0.3, 0.3])
    assert demo.velocity_limit == 0.3 == demo.robot.max_pusher_speed
    assert demo.control_period == 0.2 and demo.robot.image_size == 64
    assert (demo.goal_source, demo.goal_steps, demo.max_steps) == ("exploration", 25, 50)
    values = demo.planner_values()
    assert (values["goal_weight"], values["probe_weight"]) == (0.0, 0.0)
    assert (values["object_weight"], values["reach_weight"]) == (100.0, 10.0)
    config = demo.planner_node.planner
    assert (config.object_weight, config.reach_weight) == (100.0, 10.0)
    assert values["history_frames"] + values["horizon"] <= 6  # recipes/push.yaml: max_frames 6
    assert planner["goal_image_topic"] == sim["goal_image_topic"]
    assert demo.as_dict()["task"] == "push"
    assert find_shared("config/demo_push.yaml") == SHIPPED_PUSH_CONFIG


def test_the_task_picks_its_shipped_config(tmp_path):
    assert set(SHIPPED_CONFIGS) == {"reacher", "push"}
    assert shipped_config("reacher") == SHIPPED_CONFIG and shipped_config("push") == SHIPPED_PUSH_CONFIG
    assert config_task(SHIPPED_CONFIG) == "reacher" and config_task(SHIPPED_PUSH_CONFIG) == "push"
    assert settings(tmp_path).task == "reacher"
    with pytest.raises(ValueError, match=r"^--task must be one of \['reacher', 'push'\]. Got 'pushing'.$"):
        shipped_config("pushing")


def test_max_steps_is_the_files_unless_given(tmp_path):
    assert settings(tmp_path, config=SHIPPED_PUSH_CONFIG, max_steps=7).max_steps == 7
    document = yaml.safe_load(SHIPPED_CONFIG.read_text())
    del document[SIM_NODE]["ros__parameters"]["max_steps"]
    config = tmp_path / "no_budget.yaml"
    config.write_text(yaml.safe_dump(document))
    assert settings(tmp_path, config=config).max_steps == DEFAULT_MAX_STEPS


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
