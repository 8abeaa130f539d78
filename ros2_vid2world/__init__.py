"""Vid2World world model and planner for ROS 2 arms."""

__version__ = "0.1.0"
