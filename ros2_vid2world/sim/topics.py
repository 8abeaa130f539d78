"""Topic names and frames the simulated robot publishes, live (sim_node) and in recorded bags (collect).

The bag -> dataset converter reads these names: change them only together with it.
"""

IMAGE_TOPIC = "/camera/image_raw"  # sensor_msgs/Image, rgb8, header stamp = sim time of the frame
JOINT_STATES_TOPIC = "/joint_states"  # sensor_msgs/JointState: shoulder, wrist (push: pusher_x, pusher_y)
COMMAND_TOPIC = "/forward_command_controller/commands"  # std_msgs/Float64MultiArray: joint velocities
# (rad/s; the pusher's in m/s)
CLOCK_TOPIC = "/clock"  # rosgraph_msgs/Clock: sim time
GOAL_IMAGE_TOPIC = "/planner_node/goal_image"  # sensor_msgs/Image, rgb8, reliable + transient local
# Pushing task only: the block's pose (x, y at table height, a turn about z), header stamp = its frame's.
# For evaluation and probes; a planner never reads it.
OBJECT_POSE_TOPIC = "/object_pose"  # geometry_msgs/PoseStamped in WORLD_FRAME

CAMERA_FRAME = "camera"
WORLD_FRAME = "world"  # the table: origin at its centre, x right and y up in the camera image, z up
IMAGE_ENCODING = "rgb8"
