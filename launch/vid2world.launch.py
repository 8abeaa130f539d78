"""The vid2world planner as a managed lifecycle node: `ros2 launch ros2_vid2world vid2world.launch.py`.

Arguments: params_file, model_path (overrides the file's when set), namespace, use_sim_time, autostart
(the launch file configures, then activates the node; false leaves it unconfigured for a lifecycle
manager). The node's own `autostart` parameter is forced off here, since this file drives the
transitions. Needs a ROS 2 install (`launch`, `launch_ros`); the pip path runs `planner_node` instead.
"""

try:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
    from launch.events import matches_action
    from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
    from launch_ros.actions import LifecycleNode
    from launch_ros.event_handlers import OnStateTransition
    from launch_ros.events.lifecycle import ChangeState
    from launch_ros.substitutions import FindPackageShare
    from lifecycle_msgs.msg import Transition
except ImportError as exc:  # the pip install has no launch packages: say so instead of a bare import error
    raise ImportError(
        f"{exc.name} is missing: this launch file needs a ROS 2 install with launch and launch_ros. "
        "Without one, run the `planner_node` console script with --ros-args --params-file instead."
    ) from exc

PACKAGE = "ros2_vid2world"


def _is_true(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _node_and_transitions(context):
    model_path = LaunchConfiguration("model_path").perform(context)
    overrides = {
        "use_sim_time": _is_true(LaunchConfiguration("use_sim_time").perform(context)),
        "autostart": False,
    }
    if model_path:
        overrides["model_path"] = model_path
    node = LifecycleNode(
        package=PACKAGE,
        executable="planner_node",
        name="vid2world_planner",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"), overrides],
        output="screen",
        emulate_tty=True,
    )
    if not _is_true(LaunchConfiguration("autostart").perform(context)):
        return [node]
    configure = EmitEvent(
        event=ChangeState(
            lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_CONFIGURE
        )
    )
    # Activate once configuring has succeeded (not after a later deactivate: that is the operator's call).
    activate_when_configured = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            start_state="configuring",
            goal_state="inactive",
            entities=[
                EmitEvent(
                    event=ChangeState(
                        lifecycle_node_matcher=matches_action(node),
                        transition_id=Transition.TRANSITION_ACTIVATE,
                    )
                )
            ],
        )
    )
    return [activate_when_configured, node, configure]


def generate_launch_description() -> LaunchDescription:
    default_params = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "vid2world.yaml"])
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "params_file", default_value=default_params, description="Parameters file."
            ),
            DeclareLaunchArgument(
                "model_path", default_value="", description="World-model folder (overrides params_file)."
            ),
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node."),
            DeclareLaunchArgument("use_sim_time", default_value="false", description="Follow /clock."),
            DeclareLaunchArgument(
                "autostart", default_value="true", description="Configure and activate at launch."
            ),
            OpaqueFunction(function=_node_and_transitions),
        ]
    )
