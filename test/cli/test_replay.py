"""`vid2world replay`: bad input is refused with one line and exit 2 before ROS starts."""

import pytest

from ros2_vid2world.cli import main
from test.bags.sim_bags import IMAGE_TOPIC, TYPESTORE, write_records, write_sim_bag


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world replay: error: "), err
    return err[0]


@pytest.fixture(scope="module")
def sim_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("bags") / "sim"
    write_sim_bag(path, episodes=1, frames=3)
    return path


def test_missing_bag(tmp_path, capsys):
    assert "does not exist" in one_error_line(capsys, ["replay", str(tmp_path / "nope")])


def test_topic_not_in_the_bag_lists_the_bags_topics(sim_bag, capsys):
    line = one_error_line(capsys, ["replay", str(sim_bag), "--topics", IMAGE_TOPIC, "/arm/commands"])
    assert "topic '/arm/commands' is not in the bag" in line
    assert (
        f"{IMAGE_TOPIC} (sensor_msgs/msg/Image)" in line
        and "/joint_states (sensor_msgs/msg/JointState)" in line
    )


def test_message_type_without_python_package_is_named(tmp_path, capsys):
    try:
        import tf2_msgs.msg  # noqa: F401

        pytest.skip("tf2_msgs is installed here")
    except ImportError:
        pass
    transforms = TYPESTORE.types["tf2_msgs/msg/TFMessage"](transforms=[])
    write_records(tmp_path / "bag", [("/tf", "tf2_msgs/msg/TFMessage", 1, transforms)])
    line = one_error_line(capsys, ["replay", str(tmp_path / "bag")])
    assert "tf2_msgs/msg/TFMessage is not importable here" in line and "pip install ros-tf2-msgs" in line


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--rate", "0"], "--rate must be > 0"),
        (["--clock-rate", "-1"], "`clock_rate_hz` must be >= 0"),
    ],
)
def test_bad_settings(sim_bag, capsys, argv, match):
    assert match in one_error_line(capsys, ["replay", str(sim_bag), *argv])


def test_existing_record_needs_force(sim_bag, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    line = one_error_line(capsys, ["replay", str(sim_bag), "--record", str(tmp_path / "out")])
    assert "already exists; pass --force" in line
