"""The vid2world planner as an rclpy lifecycle node: it wires topics, services and parameters to the
planning worker and decides nothing itself.

on_configure loads the model and the planner (failure: one error line, the node stays unconfigured);
on_activate starts planning; on_deactivate sends one hold command and stops; on_cleanup frees the model.
"""

from __future__ import annotations

import gc
import os
import sys

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import Bool, Float64, Float64MultiArray, Header
from std_srvs.srv import SetBool, Trigger
from trajectory_msgs.msg import JointTrajectory

from ..image_messages import decode_compressed_image, decode_image, resize_rgb
from .commands import CommandBuilder, CommandGate
from .diagnostics import diagnostic_array
from .execution_policy import ExecutionSettings
from .imagined_tiles import rgb8_image
from .interrupts import init_with_interrupts
from .joint_order import JointOrder
from .latest_inputs import FRAME, GOAL, GOAL_JOINTS, JOINTS, LatestInputs
from .node_config import PLANNER_PREFIX, planner_values, read_settings, validate_changes
from .parameters import declare_parameters, declared_names, dynamic_names, parameter_values
from .planner_loading import load_planner, model_window
from .planning_worker import PlanningWorker, WorkerOutputs

NODE_NAME = "vid2world_planner"
COMMAND_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)  # only the newest command matters
# A transient-local subscription gets a latched goal published before it existed, but a volatile
# publisher never connects to it: so the durability is the `goal_durability` parameter's to choose.
GOAL_DURABILITY = {
    "volatile": DurabilityPolicy.VOLATILE,
    "transient_local": DurabilityPolicy.TRANSIENT_LOCAL,
}
# ~/goal_reached is latched: a subscriber that comes later still learns the current state.
LATCHED_QOS = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
DIAGNOSTICS_PERIOD_S = 1.0
# How often the plan player looks at the clock: well inside the 50 ms a command may overstay its period.
PLAYER_TICK_S = 0.005
WORKER_JOIN_TIMEOUT_S = 30.0
# At shutdown the running decision is abandoned (it stops at its next model pass), not waited for.
SHUTDOWN_JOIN_TIMEOUT_S = 0.5
DROP_LOG_THROTTLE_S = 5.0
FINAL_HOLD_ACK_TIMEOUT_S = 1.0


# How dropped messages are named in the log.
INPUT_NAMES = {
    FRAME: "camera image",
    GOAL: "goal image",
    JOINTS: "joint state",
    GOAL_JOINTS: "goal joint state",
}


def stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class PlannerNode(LifecycleNode):
    """Camera + joint states + goal image in, arm commands out (see README, "The ROS 2 planner node")."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs):
        super().__init__(node_name, **kwargs)
        declare_parameters(self)
        self._warn_unknown_overrides()
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._stage_parameters)
        self._inputs = LatestInputs()
        self._planner = self._worker = self._command_gate = self._command_builder = self._command_pub = None
        self._player_timer = None
        self.planning_thread_left_running = False
        self._joint_order: JointOrder | None = None
        self._image_size: tuple[int, int] | None = None
        self._input_subscriptions: list = []
        self._lifecycle_publishers: list = []
        self._active = False
        self._enabled = True
        self._dropped = 0
        self._camera_frames = 0  # every camera message the node took, for /diagnostics
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # A steady-clock timer keeps diagnostics coming while simulated time is paused.
        self.create_timer(
            DIAGNOSTICS_PERIOD_S, self._publish_diagnostics, clock=Clock(clock_type=ClockType.STEADY_TIME)
        )
        self.create_service(SetBool, "~/enable", self._on_enable)
        self.create_service(Trigger, "~/reset", self._on_reset)

    def bring_up(self) -> None:
        """Configure and activate when `autostart` is set (no lifecycle manager needed)."""
        if (
            self.get_parameter("autostart").value
            and self.trigger_configure() == TransitionCallbackReturn.SUCCESS
        ):
            self.trigger_activate()

    # --- lifecycle ----------------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._configure()
        except Exception as exc:  # any failure leaves the node unconfigured, with the reason in one line
            self.get_logger().error(f"configure failed: {exc}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        return super().on_configure(state)

    def _configure(self) -> None:
        """Model, planner, publishers, worker and subscriptions, from the parameters."""
        settings = read_settings(parameter_values(self))
        self._joint_order = JointOrder(settings.joint_names)
        self.get_logger().info(f"loading the world model from {settings.model_path!r}")
        planner = load_planner(settings)
        self._planner, self._image_size = planner, tuple(planner.image_size)
        folder = planner.folder
        settings.check_expressible(folder.action_space)
        low, high = settings.bounds(planner.action_dim)
        joints = len(settings.joint_names)
        self._command_builder = CommandBuilder(
            settings.command_type,
            settings.joint_names,
            low,
            high,
            folder.control_period * planner.config.action_repeat,
            settings.hold_mode,
            folder.action_space,
            settings.limits(joints),
            settings.action_change(joints),
        )
        is_array = settings.command_type == "float64_multi_array"
        command_pub = self.create_lifecycle_publisher(
            Float64MultiArray if is_array else JointTrajectory, settings.command_topic, COMMAND_QOS
        )
        self._command_pub = command_pub
        self._lifecycle_publishers.append(command_pub)
        cost_pub = self.create_lifecycle_publisher(Float64, "~/plan_cost", 10)
        self._lifecycle_publishers.append(cost_pub)
        latency_pub = self.create_lifecycle_publisher(Float64, "~/plan_latency", 10)
        self._lifecycle_publishers.append(latency_pub)
        imagined_pub = self.create_lifecycle_publisher(Image, "~/imagined", 1)
        self._lifecycle_publishers.append(imagined_pub)
        goal_reached_pub = self.create_lifecycle_publisher(Bool, "~/goal_reached", LATCHED_QOS)
        self._lifecycle_publishers.append(goal_reached_pub)
        self._command_gate = CommandGate(command_pub.publish)
        outputs = WorkerOutputs(
            gate=self._command_gate,
            publish_cost=lambda cost: cost_pub.publish(Float64(data=float(cost))),
            publish_imagined=lambda tiles: imagined_pub.publish(rgb8_image(tiles, self._header())),
            wants_imagined=lambda: imagined_pub.get_subscription_count() > 0,
            publish_goal_reached=lambda reached: goal_reached_pub.publish(Bool(data=reached)),
            publish_latency=lambda seconds: latency_pub.publish(Float64(data=float(seconds))),
        )
        execution = ExecutionSettings(
            control_period=folder.control_period,
            execution=settings.execution,
            execute_steps=settings.execute_steps,
            goal_tolerance=settings.planner.goal_tolerance,
            stall_decisions=settings.stall_decisions,
        )
        self._worker = PlanningWorker(
            planner,
            self._inputs,
            self._command_builder,
            outputs,
            clock=self._now,
            logger=self.get_logger(),
            control_rate=settings.control_rate,
            max_input_age=settings.max_input_age,
            imagined_period=settings.imagined_period,
            execution=execution,
            command_timeout=settings.command_timeout,
            clock_name="sim time (/clock)" if self.get_parameter("use_sim_time").value else "wall clock",
        )
        # The plan's actions go out on the executor, one per control period, whatever a decision costs.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._player_timer = self.create_timer(PLAYER_TICK_S, self._play_due_actions, clock=steady)
        self._subscribe(settings)
        self.get_logger().info(
            f"configured: action_dim {planner.action_dim} ({folder.action_space}, "
            f"{folder.control_period:g} s per step), image {self._image_size}, {settings.command_type} on "
            f"{command_pub.topic_name}, execution {settings.execution}"
        )

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if not self._worker.join(WORKER_JOIN_TIMEOUT_S):  # the previous activation's last decision
            self.get_logger().error("activate failed: the previous planning thread is still running")
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)  # activates the lifecycle publishers
        self._active = True
        if self._enabled:
            self._command_gate.open()
        self._worker.start()
        self.get_logger().info(
            "active: planning" if self._enabled else "active, commands disabled (~/enable)"
        )
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        self._worker.stop()
        self._command_gate.close(self._hold_command())
        self.get_logger().info("inactive: hold command sent, planning stopped")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("unconfigured: model freed")
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._final_hold()
        self._release(SHUTDOWN_JOIN_TIMEOUT_S)
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def shut_down(self) -> None:
        """Final hold (when active) and release, for the end of main(); safe in any state. A decision in
        progress is abandoned first, so that this takes well under the 2 s a signal may take."""
        if self._worker is not None:
            self._worker.interrupt()
        try:
            self.trigger_shutdown()
        except Exception:  # interrupted mid-transition: the state machine cannot help any more
            self._final_hold()
            self._release(SHUTDOWN_JOIN_TIMEOUT_S)

    def _final_hold(self) -> None:
        """When active: one hold, and wait (briefly) until the controller has it, since the process ends."""
        if not self._active or self._command_gate is None:
            return
        self._command_gate.close(self._hold_command())
        self._command_pub.wait_for_all_acked(Duration(seconds=FINAL_HOLD_ACK_TIMEOUT_S))

    def _release(self, join_timeout: float = WORKER_JOIN_TIMEOUT_S) -> None:
        self._active = False
        if self._player_timer is not None:
            self.destroy_timer(self._player_timer)
            self._player_timer = None
        if self._worker is not None:
            self._worker.stop()
            if not self._worker.join(join_timeout):
                self.planning_thread_left_running = True
                self.get_logger().warning(
                    "the running decision is abandoned (it stops at its next model pass); freeing the model"
                )
        for subscription in self._input_subscriptions:
            self.destroy_subscription(subscription)
        for publisher in self._lifecycle_publishers:
            self.destroy_lifecycle_publisher(publisher)
        self._input_subscriptions, self._lifecycle_publishers = [], []
        self._planner = self._worker = self._command_gate = self._command_builder = self._command_pub = None
        self._inputs.clear(FRAME, JOINTS, GOAL, GOAL_JOINTS)
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()

    # --- inputs -------------------------------------------------------------------------------------

    def _subscribe(self, settings) -> None:
        if settings.image_transport == "compressed":
            camera = (CompressedImage, f"{settings.image_topic}/compressed", self._on_compressed_image)
        else:
            camera = (Image, settings.image_topic, self._on_image)
        goal_qos = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=GOAL_DURABILITY[settings.goal_durability],
        )
        subscriptions = [
            (*camera, qos_profile_sensor_data),
            (JointState, settings.joint_states_topic, self._on_joint_state, qos_profile_sensor_data),
            (Image, settings.goal_image_topic, self._on_goal_image, goal_qos),
        ]
        if settings.goal_joints_topic:
            subscriptions.append((JointState, settings.goal_joints_topic, self._on_goal_joints, goal_qos))
        for args in subscriptions:  # one at a time, so that a failure leaves nothing for _release to miss
            self._input_subscriptions.append(self.create_subscription(*args))

    def _on_image(self, msg: Image) -> None:
        self._camera_frames += 1
        if self._active:  # decoding costs CPU; frames are useless until planning starts
            self._put_image(FRAME, msg, decode_image)

    def _on_compressed_image(self, msg: CompressedImage) -> None:
        self._camera_frames += 1
        if self._active:
            self._put_image(FRAME, msg, decode_compressed_image)

    def _on_goal_image(self, msg: Image) -> None:
        self._put_image(GOAL, msg, decode_image)

    def _put_image(self, kind: str, msg, decode) -> None:
        try:
            frame = resize_rgb(decode(msg), self._image_size)
        except ValueError as exc:
            self._drop(kind, exc)
            return
        self._inputs.put(kind, frame, stamp_seconds(msg.header.stamp), self._now())

    def _on_joint_state(self, msg: JointState) -> None:
        self._put_joints(JOINTS, msg)

    def _on_goal_joints(self, msg: JointState) -> None:
        self._put_joints(GOAL_JOINTS, msg)

    def _put_joints(self, kind: str, msg: JointState) -> None:
        if not self._joint_order.concerns(msg.name):
            return  # e.g. a gripper's own JointState: not malformed, just not ours
        try:
            positions = self._joint_order.positions(msg.name, msg.position)
            if kind == GOAL_JOINTS and not np.all(np.isfinite(positions)):
                raise ValueError(f"goal joint positions must be finite. Got {positions.tolist()}.")
        except ValueError as exc:
            self._drop(kind, exc)
            return
        self._inputs.put(kind, positions, stamp_seconds(msg.header.stamp), self._now())

    def _drop(self, kind: str, exc: Exception) -> None:
        self._dropped += 1
        self.get_logger().warning(
            f"dropped a malformed {INPUT_NAMES[kind]} message: {exc}",
            throttle_duration_sec=DROP_LOG_THROTTLE_S,
        )

    # --- services and parameters --------------------------------------------------------------------

    def _on_enable(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        was_enabled, self._enabled = self._enabled, request.data
        response.success = True
        if not self._active:
            response.message = f"commands {'enabled' if request.data else 'disabled'} (applies when active)"
        elif request.data:
            # A fresh start: nothing decided before this call goes out, and a reached goal is sought again.
            self._worker.request_reset()
            self._command_gate.open()
            response.message = "commands enabled"
        else:
            self._worker.interrupt()  # the running decision is abandoned, not published later
            if was_enabled:
                self._command_gate.close(self._hold_command())
            response.message = "commands disabled: hold command sent"
        self.get_logger().info(response.message)
        return response

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self._worker is None:
            response.success, response.message = False, "not configured"
        else:
            self._worker.request_reset()
            response.success, response.message = (
                True,
                "warm start and history dropped before the next decision",
            )
        return response

    def _validate_parameters(self, parameters) -> SetParametersResult:
        window = None if self._planner is None else model_window(self._planner)
        try:
            validate_changes({p.name: p.value for p in parameters}, parameter_values(self), window)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _stage_parameters(self, parameters) -> None:
        """Hand accepted dynamic parameters to the worker, which applies them between decisions."""
        if self._worker is None:
            return  # read at the next configure
        changes = {parameter.name: parameter.value for parameter in parameters}
        planner_changes = planner_values(changes)
        dynamic = dynamic_names()
        node_changes = {
            name: value
            for name, value in changes.items()
            if name in dynamic and not name.startswith(PLANNER_PREFIX)
        }
        if planner_changes or node_changes:
            self._worker.stage_settings(planner_changes, **node_changes)

    def _warn_unknown_overrides(self) -> None:
        # rclpy ignores overrides nobody declares: a typo in the params file would pass unnoticed.
        declared = declared_names() | {"use_sim_time", "start_type_description_service"}
        unknown = sorted(set(getattr(self, "_parameter_overrides", {})) - declared)
        if unknown:
            self.get_logger().warning(f"ignoring unknown parameters {unknown} (typos in the params file?)")

    # --- outputs ------------------------------------------------------------------------------------

    def _play_due_actions(self) -> None:
        if self._worker is not None:
            self._worker.player.tick(self._now())

    def _hold_command(self):
        latest = self._inputs.latest(JOINTS)
        joints = latest.value if latest is not None and np.all(np.isfinite(latest.value)) else None
        if joints is None and self._worker is not None:
            joints = self._worker.last_finite_joints
        return self._command_builder.hold(joints)

    def _publish_diagnostics(self) -> None:
        # rclpy offers no public getter for the current lifecycle state.
        state = self._state_machine.current_state[1]
        status = None if self._worker is None else self._worker.status()
        self._diagnostics_pub.publish(
            diagnostic_array(
                self.get_fully_qualified_name(),
                state,
                status,
                self._dropped,
                self._header().stamp,
                camera_frames=self._camera_frames,
            )
        )

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _header(self) -> Header:
        return Header(stamp=self.get_clock().now().to_msg())


def main(args: list[str] | None = None) -> int:
    # A plain KeyboardInterrupt (not rclpy's handlers) leaves the context usable until the final hold
    # is sent in the finally block.
    init_with_interrupts(args)
    node, code = None, 0
    try:
        node = PlannerNode()
        node.bring_up()
        rclpy.spin(node)
    except ParameterException as exc:  # e.g. `control_rate: 2` where 2.0 is needed: the user's to fix
        print(f"planner_node: error: bad parameter: {exc}", file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.shut_down()
            node.destroy_node()
        rclpy.try_shutdown()
    if node is not None and node.planning_thread_left_running:
        # The hold is out and acknowledged; a decision inside one long model pass must not hold up the
        # exit, and interpreter shutdown under a running torch call would abort the process.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
