"""ROS 2 glue of the planner node: the node, its parameters, the planning thread and the commands.

rclpy is imported only by the node modules (and by `sim/sim_node.py`, the simulated robot); the
planning core never imports it. Modules are imported on demand (no re-exports here).
"""
