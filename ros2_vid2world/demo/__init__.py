"""The closed-loop demo: the planner node drives the simulated reacher (or the pusher, `--task push`) over
ROS 2, against two baselines.

`demo_settings` (what a run does, read from config/demo.yaml or config/demo_push.yaml), `model_check`
(is the model usable here), `node_processes` (sim_node and planner_node as child processes),
`episode_runner` (drives episodes over ROS 2 from an rclpy node; `block_poses`: the pushed block's
angle errors), `random_policy` and `oracle_planner` (the baselines, run in-process on ReacherEnv or
PushEnv by `sim_episodes`), `episode_record` (what one episode produced), `start_goal_pairs` (what
each pair asks), `demo_report`, `episode_gif` and `success_plot` (the report), `demo_run` (the whole run).
Nothing is imported here, so that `import ros2_vid2world.demo` starts neither MuJoCo nor rclpy.
"""
