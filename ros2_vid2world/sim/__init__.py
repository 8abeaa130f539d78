"""The simulated robots for the closed-loop demo, in MuJoCo: the DeepMind Control reacher, and pushing.

`reacher_env` (the reacher and its goals), `exploration` (random commands for data collection);
`push_scene` (the pushing task's MJCF), `push_env` (the pusher, the T-shaped block and their goals),
`push_exploration` (pushes of the block for data collection); `sim_tasks` (which task a config runs),
`collect` (episodes straight into a rosbag2), `sim_node` (the robot as a ROS 2 node).
Nothing is imported here, so that `import ros2_vid2world.sim` does not start MuJoCo.
"""
