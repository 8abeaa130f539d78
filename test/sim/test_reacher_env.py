"""The simulated reacher: config errors, determinism, velocity tracking, goals, success, state, images."""

from dataclasses import replace

import numpy as np
import pytest

from ros2_vid2world.sim.exploration import ExplorationPolicy
from ros2_vid2world.sim.reacher_env import ReacherConfig, ReacherEnv, wrap_angle_shoulder


@pytest.mark.parametrize(
    "field, value",
    [
        ("image_size", 4),
        ("image_size", 1000),
        ("image_size", 64.0),
        ("control_period", 0.0),
        ("control_period", float("nan")),
        ("max_joint_velocity", -1.0),
        ("task", "medium"),
        ("seed", -1),
        ("tracking_gain", 0.0),
        ("tracking_gain", 1.5),
        ("goal_source", "dataset"),
        ("goal_steps", 0),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"`{field}`"):
        ReacherConfig(**{field: value})


def test_control_period_must_be_a_multiple_of_the_physics_step():
    with pytest.raises(ValueError, match="multiple of the physics step"):
        ReacherEnv(ReacherConfig(control_period=0.05, image_size=16))


def test_same_seed_same_episode_and_rollout():
    actions = np.random.default_rng(0).uniform(-1, 1, size=(5, 2))
    runs = []
    for _ in range(2):
        env = ReacherEnv(ReacherConfig(image_size=16, seed=11))
        first = env.reset()
        frames = [env.step(action) for action in actions]
        distance = env.finger_to_target_distance()
        runs.append((first, frames, env.goal_image, env.goal_joint_positions, distance))
        env.close()
    (first_a, frames_a, goal_a, goal_q_a, dist_a), (first_b, frames_b, goal_b, goal_q_b, dist_b) = runs
    np.testing.assert_array_equal(first_a.joint_positions, first_b.joint_positions)
    np.testing.assert_array_equal(goal_a, goal_b)
    np.testing.assert_array_equal(goal_q_a, goal_q_b)
    for a, b in zip(frames_a, frames_b, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.joint_positions, b.joint_positions)
        np.testing.assert_array_equal(a.joint_velocities, b.joint_velocities)
    assert dist_a == dist_b


def test_episodes_differ_between_resets_and_seeds(small_env):
    first = small_env.reset(seed=1)
    second = small_env.reset(seed=2)
    assert not np.allclose(first.joint_positions, second.joint_positions)
    again = small_env.reset(seed=1)
    np.testing.assert_array_equal(first.joint_positions, again.joint_positions)
    # Without a seed, each reset draws the next seed of the config's sequence.
    seeds = {small_env.reset() and small_env.episode_seed for _ in range(3)}
    assert len(seeds) == 3


def test_commanded_velocity_is_tracked_within_one_step(small_env):
    small_env.reset(seed=5)
    small_env.set_state(_with_joints(small_env, [0.0, 0.0]))  # wrist far from its +-160 degree limits
    max_velocity = small_env.config.max_joint_velocity
    period = small_env.config.control_period
    for action in ([1.0, -1.0], [-1.0, 1.0], [0.3, -0.6], [0.0, 0.0]):
        before = small_env.observe(render=False).joint_positions
        obs = small_env.step(np.array(action))
        command = np.array(action) * max_velocity
        np.testing.assert_allclose(obs.joint_velocities, command, atol=0.02 * max_velocity)
        # Full speed from the first physics substep on: the step moves by command * period.
        np.testing.assert_allclose(obs.joint_positions - before, command * period, atol=0.01)


def test_full_command_moves_about_a_third_of_a_radian_per_step(small_env):
    small_env.reset(seed=5)
    small_env.set_state(_with_joints(small_env, [0.0, 0.0]))
    obs = small_env.step(np.array([1.0, 1.0]))
    np.testing.assert_allclose(obs.joint_positions, [0.3, 0.3], atol=0.01)


def test_actions_beyond_the_bounds_are_clipped(small_env):
    small_env.reset(seed=5)
    small_env.set_state(_with_joints(small_env, [0.0, 0.0]))
    obs = small_env.step(np.array([5.0, -5.0]))
    np.testing.assert_allclose(obs.joint_velocities, [3.0, -3.0], atol=0.05)


@pytest.mark.parametrize("action", [np.array([1.0]), np.array([np.nan, 0.0]), np.zeros((2, 2))])
def test_bad_actions_are_refused(small_env, action):
    small_env.reset(seed=0)
    with pytest.raises(ValueError, match="`action`"):
        small_env.step(action)


def test_wrist_stays_within_its_limits_and_shoulder_is_wrapped(small_env):
    small_env.reset(seed=5)
    for _ in range(25):  # 7.5 rad of commanded motion on each joint
        obs = small_env.step(np.array([1.0, 1.0]))
    assert np.deg2rad(160) - 0.01 < obs.joint_positions[1] <= np.deg2rad(160) + 1e-3
    assert abs(obs.joint_velocities[1]) < 0.1  # stopped at the limit
    assert -np.pi <= obs.joint_positions[0] < np.pi


def test_goal_configuration_reaches_the_target(small_env):
    for seed in range(5):
        start = small_env.reset(seed=seed)
        assert not small_env.success(), "a goal reached at the start is redrawn"
        assert small_env.finger_to_target_distance() > 0.06
        small_env.set_state(_with_joints(small_env, small_env.goal_joint_positions))
        assert small_env.success()
        assert small_env.finger_to_target_distance() < 1e-9
        assert not np.allclose(start.joint_positions, small_env.goal_joint_positions)


def test_success_is_the_dm_control_criterion(small_env):
    """Fingertip centre within (target radius + finger radius) of the target centre: 0.05 + 0.01 m (easy)."""
    small_env.reset(seed=0)
    stretched = _with_joints(small_env, [0.0, 0.0])  # fingertip at (0.24, 0): links of 0.12 m along x
    for offset, expected in ((0.059, True), (0.061, False)):
        small_env.set_state(replace(stretched, target_position=np.array([0.24 + offset, 0.0])))
        assert small_env.finger_to_target_distance() == pytest.approx(offset)
        assert small_env.success() is expected


def test_hard_task_has_a_smaller_target():
    env = ReacherEnv(ReacherConfig(image_size=16, task="hard"))
    env.reset(seed=0)
    env.set_state(replace(_with_joints(env, [0.0, 0.0]), target_position=np.array([0.27, 0.0])))
    assert not env.success()  # 0.03 m is within the easy radii (0.06) but not the hard ones (0.025)
    env.close()


def test_set_state_restores_the_exact_rollout(small_env):
    small_env.reset(seed=4)
    small_env.step(np.array([0.5, -0.5]))
    saved = small_env.get_state()
    actions = [np.array([1.0, 0.2]), np.array([-0.4, 0.9]), np.array([0.0, -1.0])]
    first = [small_env.step(a) for a in actions]
    distance = small_env.finger_to_target_distance()
    # A different episode in between: new target, new goal.
    small_env.reset(seed=9)
    small_env.set_state(saved)
    assert small_env.step_count == 1
    second = [small_env.step(a) for a in actions]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.joint_positions, b.joint_positions)
        np.testing.assert_array_equal(a.image, b.image)
        assert a.time == b.time
    assert small_env.finger_to_target_distance() == distance


def test_images_goal_image_and_render_sizes(small_env):
    obs = small_env.reset(seed=2)
    assert obs.image.shape == (16, 16, 3) and obs.image.dtype == np.uint8
    assert small_env.goal_image.shape == (16, 16, 3)
    assert np.abs(obs.image.astype(int) - small_env.goal_image).sum() > 0  # the arm is elsewhere
    np.testing.assert_array_equal(small_env.render(), obs.image)  # the goal render left no trace
    assert small_env.render(32).shape == (32, 32, 3)
    assert small_env.observe(render=False).image is None
    # The goal image is what the camera sees with the arm at the goal configuration.
    small_env.set_state(_with_joints(small_env, small_env.goal_joint_positions))
    np.testing.assert_array_equal(small_env.render(), small_env.goal_image)


def test_set_goal_image_shows_the_target_at_the_new_goal(small_env):
    """set_goal renders the goal image with the target already moved to the new fingertip."""
    start = small_env.reset(seed=2).joint_positions
    goal = np.array([1.0, -1.2])
    small_env.set_goal(goal)
    np.testing.assert_array_equal(small_env.observe().joint_positions, start)  # the arm stayed
    small_env.set_state(_with_joints(small_env, goal))
    assert small_env.finger_to_target_distance() < 1e-9
    np.testing.assert_array_equal(small_env.render(), small_env.goal_image)


def test_exploration_goals_are_where_the_data_policy_takes_the_arm():
    """goal_source "exploration": the goal is the pose after goal_steps steps of the collection policy
    from the start (the episode's generator continued), and the episode still starts at rest at t = 0."""
    env = ReacherEnv(ReacherConfig(image_size=16, goal_source="exploration", goal_steps=8))
    twin = ReacherEnv(ReacherConfig(image_size=16))  # replays the draw by hand
    try:
        for seed in (3, 5):  # seeds whose first exploration does not end on the target (no redraw)
            observation = env.reset(seed)
            rng = np.random.default_rng(seed)
            start = np.array([rng.uniform(-np.pi, np.pi), rng.uniform(*twin._wrist_range)])
            twin.reset(seed)
            twin.set_state(_with_joints(twin, start))
            policy = ExplorationPolicy(rng)
            for _ in range(8):
                twin.step(policy())
            np.testing.assert_allclose(observation.joint_positions, wrap_angle_shoulder(start), atol=1e-12)
            np.testing.assert_allclose(
                env.goal_joint_positions, wrap_angle_shoulder(twin.observe().joint_positions), atol=1e-9
            )
            assert observation.time == 0.0 and env.step_count == 0
            np.testing.assert_array_equal(observation.joint_velocities, 0.0)
            assert not env.success()
            env.set_state(_with_joints(env, env.goal_joint_positions))
            assert env.success()
            np.testing.assert_array_equal(env.render(), env.goal_image)
    finally:
        env.close()
        twin.close()


def test_time_and_step_count(small_env):
    obs = small_env.reset(seed=0)
    assert obs.time == 0.0 and small_env.step_count == 0
    for _ in range(3):
        obs = small_env.step(np.zeros(2))
    assert obs.time == pytest.approx(0.3) and small_env.step_count == 3


def _with_joints(env, positions):
    """The env's current state with the arm at `positions`, at rest."""
    state = env.get_state()
    physics_state = state.physics.copy()
    # mjSTATE_FULLPHYSICS starts with time, then qpos (shoulder, wrist), then qvel.
    physics_state[1:3] = positions
    physics_state[3:5] = 0.0
    return replace(state, physics=physics_state)
