"""Topic names and frames the simulated robot publishes, live (sim_node) and in recorded bags (collect).

The bag -> dataset converter reads these names: change them only together with it.
"""

IMAGE_TOPIC = "/camera/image_raw"  # sensor_msgs/Image, rgb8, header stamp = sim time of the frame
JOINT_STATES_TOPIC = "/joint_states"  # sensor_msgs/JointState: shoulder, wrist; positions, velocities
COMMAND_TOPIC = "/forward_command_controller/commands"  # std_msgs/Float64MultiArray: joint velocities, rad/s
CLOCK_TOPIC = "/clock"  # rosgraph_msgs/Clock: sim time
GOAL_IMAGE_TOPIC = "/planner_node/goal_image"  # sensor_msgs/Image, rgb8, reliable + transient local

CAMERA_FRAME = "camera"
IMAGE_ENCODING = "rgb8"
