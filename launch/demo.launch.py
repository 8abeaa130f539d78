"""The closed-loop demo's two nodes: `ros2 launch ros2_vid2world demo.launch.py`.

sim_node (the simulated reacher, lockstep) and planner_node (the learned planner, configured and
activated by itself: `autostart: true` in the file), both with config/demo.yaml, which has a section per
node. Arguments: model_path (default: the installed models/reacher), params_file (default: the
installed config/demo.yaml), max_steps (the sim's episode budget), goal_source (random, or exploration:
DINO-WM's goal protocol, like `vid2world demo --goals`). Episodes are reset through the sim's
~/reset_episode service (`vid2world demo` drives them over the same interfaces). Needs a ROS 2 install
(`launch`, `launch_ros`); the pip path runs `vid2world demo`, which starts the same nodes itself.
"""

try:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
    from launch_ros.actions import LifecycleNode, Node
    from launch_ros.substitutions import FindPackageShare
except ImportError as exc:  # the pip install has no launch packages: say so instead of a bare import error
    raise ImportError(
        f"{exc.name} is missing: this launch file needs a ROS 2 install with launch and launch_ros. "
        "Without one, run `vid2world demo`, which starts the same nodes as processes."
    ) from exc

PACKAGE = "ros2_vid2world"
SIM_NODE = "reacher_sim"  # the section names in config/demo.yaml
PLANNER_NODE = "vid2world_planner"


def _sim_node(context):
    """sim_node with the params file, and the arguments given on the command line on top: an argument
    left empty keeps the file's value (each value is declared once, in the file or the node)."""
    overrides = {}
    max_steps = LaunchConfiguration("max_steps").perform(context)
    if max_steps:
        overrides["max_steps"] = int(max_steps)
    goal_source = LaunchConfiguration("goal_source").perform(context)
    if goal_source:
        overrides["goal_source"] = goal_source
    return [
        Node(
            package=PACKAGE,
            executable="sim_node",
            name=SIM_NODE,
            parameters=[LaunchConfiguration("params_file"), overrides],
            output="screen",
            emulate_tty=True,
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare(PACKAGE)
    params_file = LaunchConfiguration("params_file")
    planner = LifecycleNode(
        package=PACKAGE,
        executable="planner_node",
        name=PLANNER_NODE,
        namespace="",
        parameters=[params_file, {"model_path": LaunchConfiguration("model_path")}],
        output="screen",
        emulate_tty=True,
    )
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "model_path",
                default_value=PathJoinSubstitution([share, "models", "reacher"]),
                description="World-model folder.",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([share, "config", "demo.yaml"]),
                description="Parameters file with a section per node.",
            ),
            DeclareLaunchArgument(
                "max_steps",
                default_value="",
                description="Control steps per episode (sim_node); empty keeps the params file's.",
            ),
            DeclareLaunchArgument(
                "goal_source",
                default_value="",
                description="How the sim draws goals: random, or exploration (DINO-WM's protocol); empty "
                "keeps the params file's.",
            ),
            OpaqueFunction(function=_sim_node),
            planner,
        ]
    )
