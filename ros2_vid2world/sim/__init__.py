"""The simulated robot for the closed-loop demo: the DeepMind Control reacher in MuJoCo.

`reacher_env` (the robot and its goals), `exploration` (random commands for data collection),
`collect` (episodes straight into a rosbag2), `sim_node` (the robot as a ROS 2 node).
Nothing is imported here, so that `import ros2_vid2world.sim` does not start MuJoCo.
"""
