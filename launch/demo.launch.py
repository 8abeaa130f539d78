"""The closed-loop demo's two nodes: `ros2 launch ros2_vid2world demo.launch.py [task:=push]`.

sim_node (the simulated reacher, or the pusher and its block, lockstep) and planner_node (the learned
planner, configured and activated by itself: `autostart: true` in the file), both with one parameters
file, which has a section per node. Arguments: task (reacher or push: picks the installed
config/demo.yaml or config/demo_push.yaml and models/reacher or models/push), model_path and
params_file (empty: the task's), max_steps (the sim's episode budget), goal_source (random, or
exploration: DINO-WM's goal protocol, like `vid2world demo --goals`), realtime (true: the robot keeps
moving while the planner thinks, the sim on the wall clock, like `vid2world demo --realtime`) and
execution (hold_while_planning or continuous; empty keeps the file's). Episodes are reset through the
sim's ~/reset_episode service (`vid2world demo` drives them over the same interfaces). Needs a ROS 2
install (`launch`, `launch_ros`); the pip path runs `vid2world demo`, which starts the same nodes itself.
"""

import os

try:
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import LifecycleNode, Node
    from launch_ros.substitutions import FindPackageShare
except ImportError as exc:  # the pip install has no launch packages: say so instead of a bare import error
    raise ImportError(
        f"{exc.name} is missing: this launch file needs a ROS 2 install with launch and launch_ros. "
        "Without one, run `vid2world demo`, which starts the same nodes as processes."
    ) from exc

PACKAGE = "ros2_vid2world"
SIM_NODE = "reacher_sim"  # the section names in config/demo.yaml and config/demo_push.yaml
PLANNER_NODE = "vid2world_planner"
# task -> (its parameters file, its model), under the package's share folder (demo_settings.SHIPPED_*)
TASKS = {
    "reacher": ("config/demo.yaml", "models/reacher"),
    "push": ("config/demo_push.yaml", "models/push"),
}
# realtime:=true, as `vid2world demo --realtime` runs (DemoSettings.from_config): the sim steps on the wall
# clock and the planner reads it too, so planning time is time the robot moves.
REALTIME = {"sim": {"mode": "realtime"}, "planner": {"use_sim_time": False}}


def _nodes(context):
    """Both nodes with the task's files, and the arguments given on the command line on top: an argument
    left empty keeps the file's value (each value is declared once, in the file or the node)."""
    task = LaunchConfiguration("task").perform(context)
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}. Got {task!r}.")
    share = FindPackageShare(PACKAGE).perform(context)
    config, model = (os.path.join(share, path) for path in TASKS[task])
    params_file = LaunchConfiguration("params_file").perform(context) or config
    model_path = LaunchConfiguration("model_path").perform(context) or model
    overrides = {}
    max_steps = LaunchConfiguration("max_steps").perform(context)
    if max_steps:
        overrides["max_steps"] = int(max_steps)
    goal_source = LaunchConfiguration("goal_source").perform(context)
    if goal_source:
        overrides["goal_source"] = goal_source
    planner_overrides = {"model_path": model_path}
    realtime = LaunchConfiguration("realtime").perform(context).lower()
    if realtime not in ("true", "false"):
        raise ValueError(f"realtime must be true or false. Got {realtime!r}.")
    if realtime == "true":
        overrides.update(REALTIME["sim"])
        planner_overrides.update(REALTIME["planner"])
    execution = LaunchConfiguration("execution").perform(context)
    if execution:
        planner_overrides["execution"] = execution
    sim = Node(
        package=PACKAGE,
        executable="sim_node",
        name=SIM_NODE,
        parameters=[params_file, overrides],
        output="screen",
        emulate_tty=True,
    )
    planner = LifecycleNode(
        package=PACKAGE,
        executable="planner_node",
        name=PLANNER_NODE,
        namespace="",
        parameters=[params_file, planner_overrides],
        output="screen",
        emulate_tty=True,
    )
    return [sim, planner]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "task",
                default_value="reacher",
                choices=list(TASKS),
                description="The simulated task: reacher or push (picks the installed parameters file and "
                "model).",
            ),
            DeclareLaunchArgument(
                "model_path",
                default_value="",
                description="World-model folder; empty: the task's installed models/reacher or models/push.",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value="",
                description="Parameters file with a section per node; empty: the task's installed "
                "config/demo.yaml or config/demo_push.yaml.",
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
            DeclareLaunchArgument(
                "realtime",
                default_value="false",
                choices=["true", "false"],
                description="true: the sim runs on the wall clock and keeps moving while the planner thinks "
                "(sim mode realtime, planner use_sim_time false).",
            ),
            DeclareLaunchArgument(
                "execution",
                default_value="",
                description="The planner's execution policy: hold_while_planning or continuous; empty keeps "
                "the params file's.",
            ),
            OpaqueFunction(function=_nodes),
        ]
    )
