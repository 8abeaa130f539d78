"""rosbag2 in and out without a ROS install: datasets from recorded bags, offline evaluation, replay.

Bags are read and written with `rosbags` (sqlite3 and mcap storage). Only `replay` needs rclpy.
"""
