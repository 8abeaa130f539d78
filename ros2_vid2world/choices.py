"""The choices several parts of the package accept, in one torch- and rclpy-free place.

A ROS node, a CLI and the library that runs the choice all name them from here, so that a node can
validate its parameters without importing torch, and no list is written twice.
"""

DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("torch", "onnxruntime")
# The torch backend's precisions; onnxruntime runs the exported weights or int8 quantized from them.
PRECISIONS = ("fp32", "fp16", "bf16")
ONNX_PRECISIONS = ("fp32", "int8")
# How the planner imagines its horizon (see world_model.sampler_config.SamplerConfig.rollout).
ROLLOUTS = ("autoregressive", "joint")
PREDICTION_TYPES = ("epsilon", "v_prediction")
# How a pre-trained kernel-3 temporal convolution becomes causal (see world_model.causal_conv).
WEIGHT_TRANSFERS = ("extrapolative", "masked", "shift")
# Where a world model's image conditioning comes from (world_model/model.py).
CONDITIONINGS = ("learned", "image")
GOAL_MODES = ("final", "discounted")
# How the planner searches action sequences (see planning/cem.py): the cross-entropy method, its
# sample-efficient variant (Pinneri et al. 2020), or MPPI's exponentially weighted refit.
PLANNER_METHODS = ("cem", "icem", "mppi")
# JointGoalCost: an action moves the joints by action x dt (delta), or is the joint target (absolute).
JOINT_ACTION_KINDS = ("delta", "absolute")
# Where the object goal cost's reach term reads the pusher: the imagined frame, or joints + commands x dt.
REACH_SOURCES = ("imagined", "joints")
# What a model's actions mean (see world_model/action_space.py): a joint velocity (joint units per
# second), a joint position target (joint units), or a joint position change per model step.
ACTION_SPACES = ("joint_velocity", "joint_position", "joint_delta")
