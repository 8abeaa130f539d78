"""The evaluation report's figures (ros2_vid2world/bags/eval_report.py)."""

import numpy as np

from ros2_vid2world.bags.eval_report import object_motion_split, object_split_markdown, summarise
from ros2_vid2world.bags.open_loop_eval import OpenLoopResult

PUSH_STATES = ["pusher_x", "pusher_y", "object_x", "object_y", "object_yaw"]
PUSH_UNITS = ["mm", "mm", "mm", "mm", "deg"]


def result(copied: np.ndarray, imagined: np.ndarray, names=PUSH_STATES, units=PUSH_UNITS) -> OpenLoopResult:
    starts, steps = copied.shape[:2]
    zeros = np.zeros((starts, steps))
    return OpenLoopResult(
        starts=[(0, t) for t in range(starts)], psnr=zeros, ssim=zeros, copy_last_psnr=zeros,
        copy_last_ssim=zeros, recorded_examples=np.zeros((0,)), imagined_examples=np.zeros((0,)),
        state_names=names, state_units=units, state_error=imagined, copy_last_state_error=copied,
    )


def test_the_object_errors_split_by_whether_it_moved():
    """A step counts as moved when copying the last frame misses the object by more than 10 mm (x and y
    together) or 5 degrees; each group's medians are its own, and an empty group reads None."""
    copied = np.zeros((4, 2, 5))
    imagined = np.zeros((4, 2, 5))
    # Step 1: start 0 moved 12 mm along x and y together (8.5 each), start 1 turned 6 degrees, start 2
    # moved 9 mm (still), start 3 did not move. Step 2: every start moved 20 mm along y.
    copied[0, 0, 2:4] = 8.5
    copied[1, 0, 4] = 6.0
    copied[2, 0, 2] = 9.0
    copied[:, 1, 3] = 20.0
    imagined[:, 0, 2] = [4.0, 2.0, 1.0, 3.0]
    imagined[:, 1, 4] = [10.0, 20.0, 30.0, 40.0]
    split = object_motion_split(result(copied, imagined))
    assert split["moved_share"] == [0.5, 1.0]
    assert split["moved"]["object_x"]["imagined"] == [3.0, 0.0]  # starts 0 and 1 at step 1
    assert split["still"]["object_x"]["imagined"] == [2.0, None]  # starts 2 and 3; none still at step 2
    assert split["still"]["object_x"]["copy_last"] == [4.5, None]
    assert split["moved"]["object_yaw"] == {"unit": "deg", "imagined": [0.0, 25.0], "copy_last": [3.0, 0.0]}
    table = "\n".join(object_split_markdown(split))
    assert "| object_x | 1 | 3.0 mm | 4.2 mm | 2.0 mm | 4.5 mm |" in table
    assert "| object_yaw | 2 | 25.0 deg | 0.0 deg | - | - |" in table
    assert "50%, 100% moved" in table


def test_no_split_without_an_object():
    """A probe of joints only (the reacher's) gets no split, in the summary or the markdown."""
    arm = result(np.ones((3, 2, 2)), np.ones((3, 2, 2)), names=["shoulder", "wrist"], units=["deg", "deg"])
    assert object_motion_split(arm) is None
    assert "object_moved_or_still" not in summarise(arm, None, {})
    push = result(np.ones((3, 2, 5)), np.ones((3, 2, 5)))
    assert summarise(push, None, {})["object_moved_or_still"]["moved_share"] == [0.0, 0.0]
