"""The simulated robot as an rclpy node: velocity commands in; camera, joint states, sim clock, goal out.

It only wires a `ReacherEnv`, or for `task: push` a `PushEnv`, to topics, services and parameters; the
robots themselves are in reacher_env and push_env. Pushing, the node also publishes the block's pose
(/object_pose, and the goal's on ~/goal_object_pose) for evaluations and probes; a planner never reads it.

mode `lockstep`: each command received advances exactly one control step, then the new observation
is published (the planner's decision time costs no simulated time). mode `realtime`: a wall-clock
timer at the control rate applies the latest command, which is held like forward_command_controller
holds it. Commands are joint velocities in rad/s (clipped to +-max_joint_velocity), or for the pusher
in m/s (clipped to +-max_pusher_speed).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64, Float64MultiArray, Header, Int32
from std_srvs.srv import Trigger

from ..ros.imagined_tiles import rgb8_image
from ..ros.interrupts import init_with_interrupts
from ..ros.parameters import declare
from ..settings import from_values
from . import topics
from .planar_pose import yaw_quaternion
from .push_config import PushConfig
from .sim_node_config import SimNodeConfig, sim_parameters
from .sim_tasks import make_env, task_config

NODE_NAME = "reacher_sim"
START_NS = 1_000_000_000  # sim time starts at 1 s: a zero stamp often means "unset"
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
LATE_SUBSCRIBER_CHECK_S = 0.5
WARN_THROTTLE_S = 5.0


class SimNode(Node):
    """Owns one ReacherEnv or PushEnv; publishes after every step, steps on commands (lockstep) or on a
    timer."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        declare(self, sim_parameters())
        values = {name: self.get_parameter(name).value for name, _ in sim_parameters()}
        robot, config = task_config(values), from_values(SimNodeConfig, values)
        self._mode, self._max_steps, self._auto_reset = config.mode, config.max_steps, config.auto_reset
        self._max_motion_steps = config.max_motion_steps
        self._end_on_success, self._succeeded = config.end_on_success, False
        self._env = make_env(robot)
        self._joint_names = list(self._env.joint_names)
        self._period_ns = round(robot.control_period * 1e9)
        self._substeps = round(robot.control_period / self._env.physics_step)
        self._ticks = 0
        self._episode_start_ns, self._episode = START_NS, 0
        self._command = np.zeros(len(self._joint_names))
        self._command_since: float | None = None  # steady time the non-zero command in force arrived
        self._motion_substeps = 0
        self._last_observation: list = []
        self._subscribers_at_publish: dict = {}
        self._late_subscribers: set = set()
        self._image_pub = self.create_publisher(Image, topics.IMAGE_TOPIC, qos_profile_sensor_data)
        self._joints_pub = self.create_publisher(JointState, topics.JOINT_STATES_TOPIC, RELIABLE)
        self._clock_pub = self.create_publisher(ClockMsg, topics.CLOCK_TOPIC, RELIABLE)
        self._goal_pub = self.create_publisher(Image, config.goal_image_topic, LATCHED)
        self._goal_joints_pub = self.create_publisher(JointState, config.goal_joints_topic, LATCHED)
        self._success_pub = self.create_publisher(Bool, "~/success", RELIABLE)
        self._distance_pub = self.create_publisher(Float64, "~/goal_distance", RELIABLE)
        self._step_pub = self.create_publisher(Int32, "~/episode_step", RELIABLE)
        self._motion_pub = self.create_publisher(Float64, "~/motion_steps", RELIABLE)
        # One message per observation with everything an evaluation reads, so nothing needs aligning:
        # [episode, step, success (0/1), goal distance in m, motion steps].
        self._status_pub = self.create_publisher(Float64MultiArray, "~/status", RELIABLE)
        self._in_force_pub = self.create_publisher(Float64, "~/command_in_force", RELIABLE)
        self._pose_pub = self._goal_pose_pub = None
        if isinstance(robot, PushConfig):
            self._pose_pub = self.create_publisher(PoseStamped, topics.OBJECT_POSE_TOPIC, RELIABLE)
            self._goal_pose_pub = self.create_publisher(PoseStamped, "~/goal_object_pose", LATCHED)
        self.create_subscription(Float64MultiArray, config.command_topic, self._on_command, RELIABLE)
        self.create_service(Trigger, "~/reset_episode", self._on_reset_episode)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        if self._mode == "realtime":
            self.create_timer(self._env.physics_step, self._on_physics_timer, clock=steady)
        else:  # a camera subscriber that joins late still gets the observation the sim is waiting on
            self.create_timer(LATE_SUBSCRIBER_CHECK_S, self._republish_for_late_subscribers, clock=steady)
        self._start_episode()
        task = "push" if isinstance(robot, PushConfig) else f"reacher {robot.task}"
        self.get_logger().info(
            f"{task}, {self._mode} at {robot.control_period} s per step, {robot.image_size} px images, "
            f"commands on {config.command_topic}"
        )

    # --- episodes -----------------------------------------------------------------------------------

    def _start_episode(self) -> None:
        if self._episode > 0:  # sim time keeps running across episodes
            self._episode_start_ns = self._stamp_ns() + self._period_ns
        self._episode += 1
        self._command[:] = 0.0  # a held command must not carry over into a new episode
        self._command_since, self._motion_substeps = None, 0
        self._succeeded = False
        seed = self.get_parameter("episode_seed").value
        obs = self._env.reset(None if seed < 0 else seed)
        stamp = self._header(self._episode_start_ns if self._mode == "lockstep" else self._stamp_ns()).stamp
        goal_header = Header(stamp=stamp, frame_id=topics.CAMERA_FRAME)
        self._goal_pub.publish(rgb8_image(self._env.goal_image, goal_header))
        self._goal_joints_pub.publish(self._joint_state(self._env.goal_joint_positions, np.zeros(2), stamp))
        if self._goal_pose_pub is not None:
            self._goal_pose_pub.publish(self._object_pose(self._env.goal_object_pose, stamp))
        self._publish(obs)

    def _episode_over(self) -> bool:
        out_of_steps = self._max_steps > 0 and self._env.step_count >= self._max_steps
        out_of_motion = self._max_motion_steps > 0 and self.motion_steps >= self._max_motion_steps - 1e-9
        return out_of_steps or out_of_motion or (self._end_on_success and self._succeeded)

    @property
    def motion_steps(self) -> float:
        """Control periods of commanded motion this episode (realtime: counted per physics step)."""
        return self._motion_substeps * self._env.physics_step / self._env.config.control_period

    def _on_reset_episode(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self._start_episode()
        response.success = True
        response.message = f"episode {self._episode} (seed {self._env.episode_seed})"
        self.get_logger().info(f"reset: {response.message}")
        return response

    # --- stepping -----------------------------------------------------------------------------------

    def _on_command(self, msg: Float64MultiArray) -> None:
        velocities = np.asarray(msg.data, dtype=np.float64)
        if velocities.shape != (len(self._joint_names),) or not np.all(np.isfinite(velocities)):
            self.get_logger().warning(
                f"dropped a command: expected {len(self._joint_names)} finite joint velocities "
                f"{self._joint_names}, got {list(msg.data)}",
                throttle_duration_sec=WARN_THROTTLE_S,
            )
            return
        now = time.monotonic()
        if self._command_since is not None:  # how long the command it replaces was in force
            self._in_force_pub.publish(Float64(data=now - self._command_since))
        self._command = velocities
        self._command_since = now if np.any(velocities != 0.0) else None
        if self._mode == "lockstep":
            self._step()

    def _on_physics_timer(self) -> None:
        """realtime: one physics step with the command in force; the camera every control period (it
        keeps streaming after the episode is over, with the arm still)."""
        self._ticks += 1
        if self._episode_over():
            if self._ticks % self._substeps == 0:
                self._publish(self._env.observe())
            return
        moving = bool(np.any(self._command != 0.0))
        control_step = self._env.substep(self._command / self._env.velocity_limit)
        self._motion_substeps += moving
        if control_step:
            self._ticks = 0
            self._publish(self._env.observe())
            if self._episode_over() and self._auto_reset:
                self._start_episode()

    def _step(self) -> None:
        if self._episode_over():
            self.get_logger().warning(
                f"episode over after {self._env.step_count} steps"
                f"{' (success)' if self._succeeded else ''}: call ~/reset_episode",
                throttle_duration_sec=WARN_THROTTLE_S,
            )
            return
        if np.any(self._command != 0.0):
            self._motion_substeps += self._substeps
        self._publish(self._env.step(self._command / self._env.velocity_limit))
        if self._episode_over() and self._auto_reset:
            self._start_episode()

    # --- outputs ------------------------------------------------------------------------------------

    def _publish(self, obs) -> None:
        """Everything about one observation (a ReacherObservation or PushObservation), stamped alike."""
        header = self._header(self._stamp_ns())
        joints = self._joint_state(obs.joint_positions, obs.joint_velocities, header.stamp)
        image = rgb8_image(obs.image, Header(stamp=header.stamp, frame_id=topics.CAMERA_FRAME))
        self._last_observation = [(self._joints_pub, joints), (self._image_pub, image)]
        if self._mode == "lockstep":  # realtime runs on the node clock: there is no sim time to publish
            # First, and re-sent to a late subscriber with the rest: a planner whose /clock matched after
            # this message would decide on the image at time 0, and its plan's end would not come.
            self._last_observation.insert(0, (self._clock_pub, ClockMsg(clock=header.stamp)))
        if self._pose_pub is not None:
            self._last_observation.append((self._pose_pub, self._object_pose(obs.object_pose, header.stamp)))
        self._late_subscribers.clear()
        for publisher, msg in self._last_observation:
            self._subscribers_at_publish[publisher] = publisher.get_subscription_count()
            publisher.publish(msg)
        success = self._env.success()
        self._succeeded = self._succeeded or success
        distance = self._env.goal_distance()
        self._success_pub.publish(Bool(data=success))
        self._distance_pub.publish(Float64(data=distance))
        self._step_pub.publish(Int32(data=self._env.step_count))
        self._motion_pub.publish(Float64(data=self.motion_steps))
        self._status_pub.publish(
            Float64MultiArray(
                data=[float(self._episode), float(self._env.step_count), float(success), distance,
                      self.motion_steps]
            )
        )

    def _republish_for_late_subscribers(self) -> None:
        """Lockstep waits for a command on the last observation: a subscriber that joined since gets it.

        One check after the publisher sees the new subscriber, since the subscriber may not have
        matched the publisher yet, and a best-effort message would be lost. Only once: a planner
        decides on every image that arrives, so a second copy would cost an extra step.
        """
        for publisher, msg in self._last_observation:
            count = publisher.get_subscription_count()
            if publisher in self._late_subscribers:
                self._late_subscribers.discard(publisher)
                self._subscribers_at_publish[publisher] = count
                publisher.publish(msg)
            elif count > self._subscribers_at_publish[publisher]:
                self._late_subscribers.add(publisher)

    def _joint_state(self, positions: np.ndarray, velocities: np.ndarray, stamp) -> JointState:
        return JointState(
            header=Header(stamp=stamp),
            name=list(self._joint_names),
            position=np.asarray(positions, dtype=np.float64).tolist(),
            velocity=np.asarray(velocities, dtype=np.float64).tolist(),
        )

    @staticmethod
    def _object_pose(pose: np.ndarray, stamp) -> PoseStamped:
        """The block's [x, y, yaw] as a pose in the table's frame."""
        msg = PoseStamped(header=Header(stamp=stamp, frame_id=topics.WORLD_FRAME))
        msg.pose.position.x, msg.pose.position.y = float(pose[0]), float(pose[1])
        o = msg.pose.orientation
        o.x, o.y, o.z, o.w = yaw_quaternion(float(pose[2]))
        return msg

    def _stamp_ns(self) -> int:
        """lockstep: sim time (the episode's start plus its steps); realtime: the node clock now, as a
        camera driver stamps its frames."""
        if self._mode == "realtime":
            return self.get_clock().now().nanoseconds
        return self._episode_start_ns + self._env.step_count * self._period_ns

    @staticmethod
    def _header(nanoseconds: int) -> Header:
        header = Header()
        header.stamp.sec, header.stamp.nanosec = divmod(nanoseconds, 1_000_000_000)
        return header

    def destroy_node(self) -> None:
        self._env.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    init_with_interrupts(args)
    node = None
    try:
        node = SimNode()
        rclpy.spin(node)
    except (ParameterException, ValueError) as exc:  # bad parameters are the user's to fix
        print(f"sim_node: error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
