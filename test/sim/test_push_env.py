"""The pushing task on real MuJoCo physics: pushes move the block, nothing else does, valid resets, the
success criterion, goals drawn both ways, determinism, state restore, and its settings."""

import dataclasses

import numpy as np
import pytest

from ros2_vid2world.settings import declared_settings
from ros2_vid2world.sim.push_env import PUSHER_CLEARANCE, WALL_CLEARANCE, PushConfig, PushEnv
from ros2_vid2world.sim.push_exploration import PushExplorationPolicy
from ros2_vid2world.sim.push_scene import HALF_WIDTH, PUSHER_RANGE
from ros2_vid2world.sim.reacher_config import ReacherConfig
from ros2_vid2world.sim.sim_node_config import sim_parameters
from ros2_vid2world.sim.sim_tasks import make_env, task_config

UPRIGHT = np.array([0.0, 0.0, 0.0])  # the T at the table's centre, its stem pointing to -y


@pytest.fixture
def env():
    env = PushEnv(PushConfig(image_size=16, seed=3))
    yield env
    env.close()


def _run(env, action, steps):
    for _ in range(steps):
        obs = env.step(np.asarray(action, dtype=np.float64))
    return obs


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_pusher_speed", 0.0),
        ("position_tolerance", 0.0),
        ("angle_tolerance", 181.0),
        ("goal_source", "dataset"),
        ("goal_steps", 0),
        ("image_size", 4),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"`{field}`"):
        PushConfig(**{field: value})


def test_control_period_must_be_a_multiple_of_the_physics_step():
    with pytest.raises(ValueError, match="multiple of the physics step 0.01 s"):
        PushEnv(PushConfig(control_period=0.105, image_size=16))


def test_shared_settings_are_the_reachers_declared_once_and_sim_node_declares_each_once():
    reacher = {d.name: d for d in declared_settings(ReacherConfig)}
    push = {d.name: d for d in declared_settings(PushConfig)}
    shared = set(reacher) & set(push)
    assert shared == {"image_size", "control_period", "seed", "goal_source", "goal_steps"}
    for name in shared:
        assert (push[name].default, push[name].rule) == (reacher[name].default, reacher[name].rule), name
    names = [name for name, _ in sim_parameters()]
    assert len(names) == len(set(names))
    assert {"task", "max_pusher_speed", "position_tolerance", "angle_tolerance"} <= set(names)


def test_the_task_setting_picks_the_config_and_the_environment():
    values = {"task": "push", "image_size": 16, "max_joint_velocity": 2.0, "position_tolerance": 0.03}
    config = task_config(values)  # the reacher's own settings are ignored
    assert isinstance(config, PushConfig) and (config.image_size, config.position_tolerance) == (16, 0.03)
    assert task_config({"task": "hard", "max_pusher_speed": 0.1}) == ReacherConfig(task="hard")
    with pytest.raises(ValueError, match="`task` must be one of \\['easy', 'hard', 'push'\\]. Got 'pull'."):
        task_config({"task": "pull"})
    env = make_env(ReacherConfig(task="push", image_size=16, seed=7))  # as a recipe writes it
    try:
        assert isinstance(env, PushEnv) and env.config == PushConfig(image_size=16, seed=7)
    finally:
        env.close()
    from ros2_vid2world.sim.reacher_env import ReacherEnv

    with pytest.raises(ValueError, match="task 'push' runs in PushEnv"):
        ReacherEnv(ReacherConfig(task="push"))


# --- physics --------------------------------------------------------------------------------------


def test_the_pusher_tracks_its_velocity_command_and_stays_on_the_table(env):
    env.reset(seed=0)
    env.place([0.15, 0.15, 0.0], [-0.1, -0.1])  # the block out of the way
    before = env.observe(render=False).joint_positions
    obs = env.step(np.array([1.0, -0.5]))
    # 0.3 m/s along x, 0.15 m/s along y for 0.1 s; the servo takes ~3 ms to get there.
    np.testing.assert_allclose(obs.joint_positions - before, [0.03, -0.015], atol=0.0015)
    np.testing.assert_allclose(obs.joint_velocities, [0.3, -0.15], atol=0.01)
    obs = env.step(np.array([4.0, -4.0]))  # beyond the action bounds: clipped
    np.testing.assert_allclose(obs.joint_velocities, [0.3, -0.3], atol=0.01)
    obs = _run(env, [-1.0, -1.0], 20)  # into the south-west corner
    np.testing.assert_allclose(obs.joint_positions, [-PUSHER_RANGE, -PUSHER_RANGE], atol=0.002)


def test_pushing_through_the_centre_of_mass_slides_the_block_without_turning_it(env):
    env.reset(seed=0)
    env.place(UPRIGHT, [0.0, -0.15])  # below the stem's foot (0.079 m below the centre)
    obs = _run(env, [0.0, 1.0], 7)  # 0.21 m of pusher travel, the first 0.056 m to the stem's foot
    x, y, yaw = obs.object_pose
    assert 0.14 < y < 0.16 and abs(x) < 1e-6 and abs(yaw) < 1e-6
    # The pusher pushes the stem's foot (0.079 m below the centre) and goes no deeper than 1 mm into it.
    assert obs.joint_positions[1] + 0.015 == pytest.approx(y - 0.0793, abs=0.001)
    # When the pusher stops, the block slides on until friction stops it: v^2 / (2 mu g) = 8.6 mm at
    # 0.29 m/s (the servo runs 1/60 N s/m behind while it pushes against 0.62 N of friction).
    stopped = _run(env, [0.0, 0.0], 3).object_pose
    assert 0.005 < stopped[1] - y < 0.0087 and abs(stopped[2]) < 1e-6


def test_pushing_off_the_centre_turns_the_block(env):
    env.reset(seed=0)
    env.place(UPRIGHT, [0.045, -0.15])  # under the bar's right arm: a push with a lever arm
    obs = _run(env, [0.0, 1.0], 8)
    assert obs.object_pose[2] > np.deg2rad(10)  # counter-clockwise, as a push at +x towards +y turns it
    assert obs.object_pose[1] > 0.02


def test_the_block_does_not_move_by_itself(env):
    start = env.reset(seed=1).object_pose
    obs = _run(env, [0.0, 0.0], 30)  # 3 s at rest
    np.testing.assert_array_equal(obs.object_pose, start)
    # The pusher sweeping along a wall, never within reach of the block, does not disturb it either.
    env.place(UPRIGHT, [-0.22, -0.22])
    obs = _run(env, [1.0, 0.0], 14)
    assert obs.joint_positions[0] > 0.15
    np.testing.assert_array_equal(obs.object_pose, UPRIGHT)


def test_the_walls_keep_the_block_on_the_table(env):
    env.reset(seed=0)
    env.place(UPRIGHT, [0.0, -0.15])
    obs = _run(env, [0.0, 1.0], 25)  # the pusher drives it into the north wall and keeps pushing
    assert obs.object_pose[1] + 0.041 <= HALF_WIDTH + 0.002  # the bar's top edge at most touches the wall
    assert abs(obs.object_pose[0]) < HALF_WIDTH


# --- episodes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("goal_source", ["random", "exploration"])
def test_resets_place_the_pusher_and_block_apart_and_the_block_clear_of_the_walls(goal_source):
    env = PushEnv(PushConfig(image_size=16, goal_source=goal_source, goal_steps=10))
    try:
        starts = []
        for seed in range(12):
            obs = env.reset(seed)
            assert obs.time == 0.0 and env.step_count == 0
            np.testing.assert_array_equal(obs.joint_velocities, 0.0)
            assert env._clearance(env._wall_geoms) >= WALL_CLEARANCE
            assert env._clearance([env._pusher_geom]) >= PUSHER_CLEARANCE
            assert not env.success(), "a goal met at the start is drawn again"
            starts.append(obs.object_pose)
            # The goal pose is on the table too: clear of the walls when drawn, at most touching one (1 mm
            # of soft contact) when the exploration pushed the block there.
            env.place(env.goal_object_pose, env.goal_joint_positions)
            assert env._clearance(env._wall_geoms) >= (WALL_CLEARANCE if goal_source == "random" else -0.001)
        starts = np.array(starts)
        assert np.ptp(starts[:, 0]) > 0.1 and np.ptp(starts[:, 1]) > 0.1 and np.ptp(starts[:, 2]) > 3.0
    finally:
        env.close()


def test_random_goals_are_any_pose_and_the_goal_image_shows_the_block_there(env):
    goals = []
    for seed in range(12):
        obs = env.reset(seed)
        goals.append(env.goal_object_pose)
        assert env.goal_image.shape == (16, 16, 3) and not np.array_equal(env.goal_image, obs.image)
        np.testing.assert_array_equal(env.render(), obs.image)  # rendering the goal left no trace
        env.place(env.goal_object_pose, env.goal_joint_positions)
        np.testing.assert_array_equal(env.render(), env.goal_image)
        assert env.success() and env.goal_distance() == 0.0 and env.goal_angle_error() == 0.0
    goals = np.array(goals)
    assert np.ptp(goals[:, 2]) > 3.0 and np.ptp(goals[:, 0]) > 0.1  # yaw and place vary


def test_exploration_goals_are_where_the_data_policy_takes_the_block():
    """goal_source "exploration": the goal is the scene after goal_steps steps of the collection policy
    from the start (the episode's generator continued), and the episode still starts there at t = 0."""
    config = PushConfig(image_size=16, goal_source="exploration", goal_steps=12)
    env, twin = PushEnv(config), PushEnv(PushConfig(image_size=16))  # the twin replays the draw by hand
    try:
        for seed in range(4):
            start = env.reset(seed)
            rng = np.random.default_rng(seed)
            for _ in range(100):  # the env draws start and goal again while the goal is met at the start
                twin.reset(0)
                first_pose, pusher = twin._random_placement(rng)
                pose = first_pose
                twin.place(pose, pusher)
                policy = PushExplorationPolicy(rng, config.max_pusher_speed * config.control_period)
                for _ in range(12):
                    obs = twin.step(policy(pusher, pose))
                    pusher, pose = obs.joint_positions, obs.object_pose
                if not twin._meets(first_pose, pose):
                    break
            np.testing.assert_allclose(start.object_pose, first_pose, atol=1e-12)
            np.testing.assert_allclose(env.goal_object_pose, pose, atol=1e-9)
            np.testing.assert_allclose(env.goal_joint_positions, pusher, atol=1e-9)
            np.testing.assert_array_equal(twin.render(), env.goal_image)
    finally:
        env.close()
        twin.close()


def test_success_is_the_block_within_2_cm_and_20_degrees_of_the_goal(env):
    env.reset(seed=0)
    start = env.observe(render=False)
    pose, pusher = start.object_pose, start.joint_positions
    for offset, expected in (
        ([0.019, 0.0, 0.0], True),
        ([0.0, -0.021, 0.0], False),
        ([0.012, 0.012, 0.0], True),  # 0.017 m
        ([0.015, 0.015, 0.0], False),  # 0.021 m
        ([0.0, 0.0, np.deg2rad(19.5)], True),
        ([0.0, 0.0, np.deg2rad(-20.5)], False),
        ([0.019, 0.0, np.deg2rad(19.5)], True),
        ([0.0, 0.0, 2 * np.pi], True),  # the same yaw a turn later
    ):
        env.set_goal(pose + np.array(offset), pusher)
        assert env.success() is expected, offset
    np.testing.assert_array_equal(env.observe(render=False).object_pose, pose)  # set_goal moved nothing
    # Across the +-pi seam: yaws of 179 and -179 degrees are 2 degrees apart.
    env.place([pose[0], pose[1], np.deg2rad(179)], pusher)
    env.set_goal([pose[0], pose[1], np.deg2rad(-179)], pusher)
    assert env.goal_angle_error() == pytest.approx(np.deg2rad(2)) and env.success()
    # The pusher's position is not judged.
    env.set_goal([pose[0], pose[1], np.deg2rad(179)], -pusher)
    assert env.success()


def test_tolerances_are_settings():
    env = PushEnv(PushConfig(image_size=16, position_tolerance=0.005, angle_tolerance=5.0))
    try:
        start = env.reset(seed=0)
        env.set_goal(start.object_pose + [0.006, 0.0, 0.0], start.joint_positions)
        assert not env.success()
        env.set_goal(start.object_pose + [0.0, 0.0, np.deg2rad(4.9)], start.joint_positions)
        assert env.success()
    finally:
        env.close()


# --- determinism and state ------------------------------------------------------------------------


def test_same_seed_same_episodes_and_rollouts():
    actions = np.random.default_rng(0).uniform(-1, 1, size=(6, 2))
    runs = []
    for _ in range(2):
        env = PushEnv(PushConfig(image_size=16, seed=11, goal_source="exploration", goal_steps=6))
        episodes = []
        for _ in range(2):
            first = env.reset()
            frames = [env.step(a) for a in actions]
            episodes.append((env.episode_seed, first, frames, env.goal_image, env.goal_object_pose))
        env.close()
        runs.append(episodes)
    for episode_a, episode_b in zip(*runs, strict=True):
        (seed_a, first_a, frames_a, goal_a, pose_a), (seed_b, first_b, frames_b, goal_b, pose_b) = (
            episode_a, episode_b
        )
        assert seed_a == seed_b
        np.testing.assert_array_equal(first_a.object_pose, first_b.object_pose)
        np.testing.assert_array_equal(goal_a, goal_b)
        np.testing.assert_array_equal(pose_a, pose_b)
        for a, b in zip(frames_a, frames_b, strict=True):
            np.testing.assert_array_equal(a.image, b.image)
            np.testing.assert_array_equal(a.object_pose, b.object_pose)
            np.testing.assert_array_equal(a.joint_positions, b.joint_positions)
    assert runs[0][0][0] != runs[0][1][0]  # the episodes of a sequence differ


def test_set_state_restores_the_exact_rollout(env):
    env.reset(seed=4)
    env.place(UPRIGHT, [0.045, -0.05])  # under the bar's right arm
    action = np.array([0.0, 1.0])  # a push off the centre: the block slides and turns
    env.step(action)
    saved = env.get_state()
    first = [env.step(action) for _ in range(6)]
    assert first[-1].object_pose[1] > 0.02 and first[-1].object_pose[2] > 0.5
    env.reset(seed=9)  # another episode in between
    env.set_state(saved)
    assert env.step_count == 1
    second = [env.step(action) for _ in range(6)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.object_pose, b.object_pose)
        np.testing.assert_array_equal(a.image, b.image)
        assert a.time == b.time


@pytest.mark.parametrize("action", [np.array([1.0]), np.array([np.nan, 0.0]), np.zeros((2, 2))])
def test_bad_actions_are_refused(env, action):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="`action`"):
        env.step(action)


def test_observations_images_and_yaw(env):
    obs = env.reset(seed=2)
    assert obs.image.shape == (16, 16, 3) and obs.image.dtype == np.uint8
    assert env.render(48).shape == (48, 48, 3)
    assert env.observe(render=False).image is None
    env.place([0.0, 0.0, 3 * np.pi / 2], [0.15, 0.15])
    assert env.object_pose()[2] == pytest.approx(-np.pi / 2)  # wrapped to [-pi, pi)
    obs = _run(env, [0.0, 0.0], 3)
    assert obs.time == pytest.approx(0.3) and env.step_count == 3
    assert dataclasses.asdict(env.config) == dataclasses.asdict(PushConfig(image_size=16, seed=3))
