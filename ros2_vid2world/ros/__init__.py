"""ROS 2 glue: the planner node and the conversions at its edge. The only place that imports rclpy.

Modules are imported on demand (no re-exports here) so that `image_decoding` and `joint_order`
stay usable without a ROS environment.
"""
