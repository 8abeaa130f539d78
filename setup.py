"""Build script shared by colcon (ament_python) and pip.

There is deliberately no pyproject.toml: it would change how colcon and pip build the package.
setup.cfg sends console scripts to lib/<package>, where `ros2 run` looks for them.
"""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "ros2_vid2world"
SHARE = os.path.join("share", PACKAGE)


def _tree_data_files(root: str) -> list[tuple[str, list[str]]]:
    """Install every file below `root` under share/<package>/<root>, keeping subfolders.

    Folders without files (or a missing `root`) contribute nothing.
    """
    entries = []
    for folder, _dirs, files in sorted(os.walk(root)):
        paths = sorted(os.path.join(folder, name) for name in files)
        if paths:
            entries.append((os.path.join(SHARE, folder), paths))
    return entries


def _data_files() -> list[tuple[str, list[str]]]:
    entries = [
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (SHARE, ["package.xml"]),
        (os.path.join(SHARE, "launch"), sorted(glob("launch/*launch.py"))),
        (os.path.join(SHARE, "config"), sorted(glob("config/*.yaml") + glob("config/*.xml"))),
        *_tree_data_files("models"),
        *_tree_data_files("recipes"),
    ]
    # An empty file list would still create an empty folder in share/.
    return [(target, files) for target, files in entries if files]


setup(
    name=PACKAGE,
    version="0.1.0",
    description="Vid2World action-conditioned video world model and planner for ROS 2 arms",
    maintainer="ros2_vid2world developers",
    maintainer_email="dev@ros2-vid2world.invalid",
    license="Apache-2.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=_data_files(),
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.4",
        "diffusers>=0.32",
        "safetensors",
        "numpy",
        "scipy",
        "onnxruntime",
        "onnx",
        "rosbags>=0.10",
        "accelerate",
        "transformers>=4.56",
        "tqdm",
        "pillow",
        "av>=13",
        "pyarrow>=16",
        "mujoco>=3.17",
        "dm-control>=1.0.50",
    ],
    extras_require={
        # Community-built ROS 2 Kilted wheels from PyPI, for machines without a ROS install.
        "ros": [
            "ros-rclpy",
            "ros-sensor-msgs",
            "ros-std-msgs",
            "ros-std-srvs",
            "ros-trajectory-msgs",
            "ros-geometry-msgs",
            "ros-diagnostic-msgs",
            "ros-lifecycle-msgs",
            "ros-builtin-interfaces",
            "ros-rosgraph-msgs",
            "ros-rmw-fastrtps-cpp",
        ],
        "test": ["pytest", "ruff", "colcon-common-extensions"],
        "gpu": ["onnxruntime-gpu"],
    },
    entry_points={
        "console_scripts": [
            "vid2world = ros2_vid2world.cli:main",
            "planner_node = ros2_vid2world.ros.planner_node:main",
            "sim_node = ros2_vid2world.sim.sim_node:main",
        ],
    },
    zip_safe=False,
)
