"""Random exploratory episodes of the simulated robot (reacher or pushing), written straight into a rosbag2.

The bag holds what `sim_node` publishes (see `topics`): per frame, at its sim time, /clock, the camera
image, the joint states and, for the pushing task, the block's pose on /object_pose; 1 ms later the
command applied after that frame (joint velocities: rad/s for the reacher, m/s for the pusher).
An episode of T steps has T + 1 frames and T commands (the last frame shows the last command's
result). Episodes are separated by `EPISODE_GAP_S` of bag time without messages, so a converter can
split them at gaps; sim time keeps running across episodes so that bag time never goes backwards.

The reacher explores with `exploration`'s random commands, the pusher with `push_exploration`'s pushes;
for the pushing task the summary says in what share of steps the block moved.

The bag is written to a temporary path beside the target and renamed into place at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from .exploration import ExplorationPolicy
from .planar_pose import yaw_quaternion
from .push_config import PushConfig
from .push_exploration import PushExplorationPolicy, block_moved
from .reacher_config import ReacherConfig
from .sim_tasks import TaskConfig, as_task_config, make_env
from .topics import (
    CAMERA_FRAME,
    CLOCK_TOPIC,
    COMMAND_TOPIC,
    IMAGE_ENCODING,
    IMAGE_TOPIC,
    JOINT_STATES_TOPIC,
    OBJECT_POSE_TOPIC,
    WORLD_FRAME,
)

STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
EPISODE_GAP_S = 1.0
COMMAND_DELAY_NS = 1_000_000  # a command follows the frame it was decided on
START_NS = 1_000_000_000  # a zero stamp often means "unset" in ROS, so sim time starts at 1 s
TOPIC_TYPES = {
    CLOCK_TOPIC: "rosgraph_msgs/msg/Clock",
    IMAGE_TOPIC: "sensor_msgs/msg/Image",
    JOINT_STATES_TOPIC: "sensor_msgs/msg/JointState",
    COMMAND_TOPIC: "std_msgs/msg/Float64MultiArray",
}
PUSH_TOPIC_TYPES = {**TOPIC_TYPES, OBJECT_POSE_TOPIC: "geometry_msgs/msg/PoseStamped"}


@dataclass(frozen=True)
class CollectSummary:
    path: Path
    storage: str
    episodes: int
    steps: int  # control steps per episode
    frames: int  # camera frames in the bag (episodes * (steps + 1))
    messages: int
    image_size: int
    control_period: float
    seed: int
    seconds: float  # wall-clock time of the collection
    bytes: int
    task: str = "easy"
    # Pushing task: the share of control steps in which the block moved (`push_exploration.block_moved`).
    object_moving_share: float | None = None

    def as_dict(self) -> dict:
        values = dict(self.__dict__)
        values["path"] = str(self.path)
        values["seconds_per_episode"] = self.seconds / self.episodes
        return values


class BagMessages:
    """rosbags message objects (Kilted definitions) for one frame or command, CDR-serialized."""

    def __init__(self):
        self.typestore = get_typestore(Stores.ROS2_KILTED)
        types = self.typestore.types
        self._time = types["builtin_interfaces/msg/Time"]
        self._header = types["std_msgs/msg/Header"]
        self._image = types["sensor_msgs/msg/Image"]
        self._joint_state = types["sensor_msgs/msg/JointState"]
        self._clock = types["rosgraph_msgs/msg/Clock"]
        self._array = types["std_msgs/msg/Float64MultiArray"]
        self._layout = types["std_msgs/msg/MultiArrayLayout"]
        self._pose = types["geometry_msgs/msg/PoseStamped"]
        self._pose_fields = types["geometry_msgs/msg/Pose"]
        self._point = types["geometry_msgs/msg/Point"]
        self._quaternion = types["geometry_msgs/msg/Quaternion"]

    def stamp(self, nanoseconds: int):
        return self._time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)

    def frame(self, obs, nanoseconds: int, joint_names: tuple[str, ...]) -> dict[str, bytes]:
        """Serialized /clock, image, joint states (and the object pose, when the observation has one) for
        one observation of a ReacherEnv or PushEnv, keyed by topic."""
        stamp = self.stamp(nanoseconds)
        height, width, channels = obs.image.shape
        image = self._image(
            header=self._header(stamp=stamp, frame_id=CAMERA_FRAME),
            height=height,
            width=width,
            encoding=IMAGE_ENCODING,
            is_bigendian=0,
            step=width * channels,
            data=np.ascontiguousarray(obs.image, dtype=np.uint8).reshape(-1),
        )
        joints = self._joint_state(
            header=self._header(stamp=stamp, frame_id=""),
            name=list(joint_names),
            position=np.asarray(obs.joint_positions, dtype=np.float64),
            velocity=np.asarray(obs.joint_velocities, dtype=np.float64),
            effort=np.zeros(0, dtype=np.float64),
        )
        messages = {
            CLOCK_TOPIC: self._serialize(self._clock(clock=stamp)),
            IMAGE_TOPIC: self._serialize(image),
            JOINT_STATES_TOPIC: self._serialize(joints),
        }
        if getattr(obs, "object_pose", None) is not None:
            messages[OBJECT_POSE_TOPIC] = self._serialize(self.object_pose(obs.object_pose, stamp))
        return messages

    def object_pose(self, pose: np.ndarray, stamp):
        """A PoseStamped in the table's frame for the block's [x, y, yaw]: a turn about z at table height."""
        x, y, yaw = (float(v) for v in pose)
        qx, qy, qz, qw = yaw_quaternion(yaw)
        return self._pose(
            header=self._header(stamp=stamp, frame_id=WORLD_FRAME),
            pose=self._pose_fields(
                position=self._point(x=x, y=y, z=0.0),
                orientation=self._quaternion(x=qx, y=qy, z=qz, w=qw),
            ),
        )

    def command(self, velocities: np.ndarray) -> bytes:
        layout = self._layout(dim=[], data_offset=0)
        return self._serialize(self._array(layout=layout, data=np.asarray(velocities, dtype=np.float64)))

    def _serialize(self, message) -> bytes:
        return bytes(self.typestore.serialize_cdr(message, message.__msgtype__))


def collect(
    out: Path,
    *,
    episodes: int,
    steps: int,
    config: TaskConfig | None = None,
    storage: str = "sqlite3",
    force: bool = False,
    on_step: Callable[[], None] | None = None,
) -> CollectSummary:
    """Record `episodes` random exploratory episodes of `steps` control steps into the bag `out`.

    `config`: a ReacherConfig (task easy or hard, or push: then its shared settings as a PushConfig) or a
    PushConfig. `on_step` is called after every control step (e.g. to advance a progress bar).
    """
    config = as_task_config(config or ReacherConfig())
    out = Path(out)
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"`episodes` must be a positive integer. Got {episodes!r}.")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`steps` must be a positive integer. Got {steps!r}.")
    if storage not in STORAGES:
        raise ValueError(f"`storage` must be one of {sorted(STORAGES)}. Got {storage!r}.")
    if out.exists() and not force:
        raise ValueError(f"--out {str(out)!r} already exists; pass --force to replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    # The bag gets its final name inside a hidden folder, since its storage file is named after it.
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    _remove(partial)
    partial.mkdir()
    started = time.perf_counter()
    env = make_env(config)
    try:
        with Writer(partial / out.name, version=9, storage_plugin=STORAGES[storage]) as writer:
            frames, messages, moving_share = _record(writer, env, episodes, steps, on_step)
        if out.exists():
            _remove(out)
        (partial / out.name).rename(out)
    finally:  # also on Ctrl-C: never leave a half bag behind
        _remove(partial)
        env.close()
    return CollectSummary(
        path=out,
        storage=storage,
        episodes=episodes,
        steps=steps,
        frames=frames,
        messages=messages,
        image_size=config.image_size,
        control_period=config.control_period,
        seed=config.seed,
        seconds=time.perf_counter() - started,
        bytes=sum(path.stat().st_size for path in out.rglob("*") if path.is_file()),
        task="push" if isinstance(config, PushConfig) else config.task,
        object_moving_share=moving_share,
    )


def _record(
    writer: Writer, env, episodes: int, steps: int, on_step: Callable[[], None] | None
) -> tuple[int, int, float | None]:
    """Write every episode of a ReacherEnv or PushEnv; (frames, messages, the share of steps in which
    the block moved, or None without a block) written."""
    bag = BagMessages()
    pushing = isinstance(env.config, PushConfig)
    connections = {
        topic: writer.add_connection(topic, msgtype, typestore=bag.typestore)
        for topic, msgtype in (PUSH_TOPIC_TYPES if pushing else TOPIC_TYPES).items()
    }
    # Decorrelated from the env's own stream of episode seeds, which comes from the same seed.
    explore = _Exploration(env, np.random.default_rng([env.config.seed, 1]))
    period_ns = round(env.config.control_period * 1e9)
    gap_ns = round(EPISODE_GAP_S * 1e9)
    frames = messages = moved = 0
    episode_start = START_NS
    for _ in range(episodes):
        obs = env.reset()
        explore.reset()
        for step in range(steps + 1):
            frame_ns = episode_start + step * period_ns
            for topic, data in bag.frame(obs, frame_ns, env.joint_names).items():
                writer.write(connections[topic], frame_ns, data)
                messages += 1
            frames += 1
            if step == steps:
                break
            action = explore(obs)
            velocities = action * env.velocity_limit
            writer.write(connections[COMMAND_TOPIC], frame_ns + COMMAND_DELAY_NS, bag.command(velocities))
            messages += 1
            before, obs = obs, env.step(action)
            moved += pushing and block_moved(before.object_pose, obs.object_pose)
            if on_step is not None:
                on_step()
        episode_start = frame_ns + gap_ns
    return frames, messages, (moved / (episodes * steps) if pushing else None)


class _Exploration:
    """The task's data-collection policy as one call per observation: the reacher's random commands, or
    the pusher's pushes (which read the pusher's position and the block's pose)."""

    def __init__(self, env, rng: np.random.Generator):
        if isinstance(env.config, PushConfig):
            step_length = env.velocity_limit * env.config.control_period
            self._policy = PushExplorationPolicy(rng, step_length)
        else:
            self._policy = ExplorationPolicy(rng)

    def reset(self) -> None:
        self._policy.reset()

    def __call__(self, obs) -> np.ndarray:
        if isinstance(self._policy, PushExplorationPolicy):
            return self._policy(obs.joint_positions, obs.object_pose)
        return self._policy()



def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()

