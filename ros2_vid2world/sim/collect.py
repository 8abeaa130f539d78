"""Random exploratory episodes of the simulated reacher, written straight into a rosbag2.

The bag holds what `sim_node` publishes (see `topics`): per frame, at its sim time, /clock, the camera
image and the joint states; 1 ms later the command applied after that frame (joint velocities, rad/s).
An episode of T steps has T + 1 frames and T commands (the last frame shows the last command's
result). Episodes are separated by `EPISODE_GAP_S` of bag time without messages, so a converter can
split them at gaps; sim time keeps running across episodes so that bag time never goes backwards.

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
from .reacher_env import JOINT_NAMES, ReacherConfig, ReacherEnv, ReacherObservation
from .topics import CAMERA_FRAME, CLOCK_TOPIC, COMMAND_TOPIC, IMAGE_ENCODING, IMAGE_TOPIC, JOINT_STATES_TOPIC

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

    def stamp(self, nanoseconds: int):
        return self._time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)

    def frame(self, obs: ReacherObservation, nanoseconds: int) -> dict[str, bytes]:
        """Serialized /clock, image and joint states for one observation, keyed by topic."""
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
            name=list(JOINT_NAMES),
            position=np.asarray(obs.joint_positions, dtype=np.float64),
            velocity=np.asarray(obs.joint_velocities, dtype=np.float64),
            effort=np.zeros(0, dtype=np.float64),
        )
        return {
            CLOCK_TOPIC: self._serialize(self._clock(clock=stamp)),
            IMAGE_TOPIC: self._serialize(image),
            JOINT_STATES_TOPIC: self._serialize(joints),
        }

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
    config: ReacherConfig | None = None,
    storage: str = "sqlite3",
    force: bool = False,
    on_step: Callable[[], None] | None = None,
) -> CollectSummary:
    """Record `episodes` random exploratory episodes of `steps` control steps into the bag `out`.

    `on_step` is called after every control step (e.g. to advance a progress bar).
    """
    config = config or ReacherConfig()
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
    env = ReacherEnv(config)
    try:
        with Writer(partial / out.name, version=9, storage_plugin=STORAGES[storage]) as writer:
            frames, messages = _record(writer, env, episodes, steps, on_step)
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
    )


def _record(
    writer: Writer, env: ReacherEnv, episodes: int, steps: int, on_step: Callable[[], None] | None
) -> tuple[int, int]:
    """Write every episode; (frames, messages) written."""
    bag = BagMessages()
    connections = {
        topic: writer.add_connection(topic, msgtype, typestore=bag.typestore)
        for topic, msgtype in TOPIC_TYPES.items()
    }
    # Decorrelated from the env's own stream of episode seeds, which comes from the same seed.
    policy = ExplorationPolicy(np.random.default_rng([env.config.seed, 1]))
    period_ns = round(env.config.control_period * 1e9)
    gap_ns = round(EPISODE_GAP_S * 1e9)
    frames = messages = 0
    episode_start = START_NS
    for _ in range(episodes):
        obs = env.reset()
        policy.reset()
        for step in range(steps + 1):
            frame_ns = episode_start + step * period_ns
            for topic, data in bag.frame(obs, frame_ns).items():
                writer.write(connections[topic], frame_ns, data)
                messages += 1
            frames += 1
            if step == steps:
                break
            action = policy()
            velocities = action * env.config.max_joint_velocity
            writer.write(connections[COMMAND_TOPIC], frame_ns + COMMAND_DELAY_NS, bag.command(velocities))
            messages += 1
            obs = env.step(action)
            if on_step is not None:
                on_step()
        episode_start = frame_ns + gap_ns
    return frames, messages


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()

