"""The probe learns joint positions from frames that show them (a synthetic arm drawn from its joints)."""

import numpy as np
import pytest

from ros2_vid2world.dataset.store import EpisodeDataset
from ros2_vid2world.training.state_probe_training import (
    ProbeTrainConfig,
    periodic_joints,
    probe_errors_deg,
    probe_frame_split,
    train_state_probe,
)

from .conftest import write_arm_dataset  # the synthetic arm


@pytest.fixture(scope="module")
def arm_dataset(tmp_path_factory):
    return EpisodeDataset(write_arm_dataset(tmp_path_factory.mktemp("data") / "arm"))


def test_the_probe_reads_the_joints_it_was_shown(arm_dataset):
    config = ProbeTrainConfig(steps=300, batch_size=64, holdout_episodes=3)
    steps = []
    names = ["shoulder", "wrist"]
    probe, summary = train_state_probe(arm_dataset, config, names, progress=lambda s, _: steps.append(s))
    assert steps == [100, 200, 300]
    assert list(probe.config.periodic) == [True, False]  # told from the recorded range
    assert summary["periodic"] == {"shoulder": True, "wrist": False}
    assert summary["heldout_frames"] == 60 and summary["train_frames"] == 220
    # Chance is ~90 degrees for the shoulder and ~60 for the wrist; the drawing pins both to a few.
    median = summary["heldout_median_error_deg"]
    assert median["shoulder"] < 12 and median["wrist"] < 12, summary
    _, held_out = probe_frame_split(arm_dataset, 3)
    untrained, _ = train_state_probe(arm_dataset, ProbeTrainConfig(steps=1, holdout_episodes=3), names)
    assert np.median(probe_errors_deg(untrained, arm_dataset, held_out)) > 3 * max(median.values())


def test_periodic_joints_are_told_by_their_recorded_span():
    turning = np.linspace(-np.pi + 0.05, np.pi - 0.05, 50)
    stopped = np.linspace(-2.79, 2.79, 50)  # the reacher's elbow: +-160 degrees
    assert periodic_joints(np.stack([turning, stopped], axis=1)) == [True, False]


def test_a_dataset_without_joints_is_refused(tmp_path):
    dataset = EpisodeDataset(write_arm_dataset(tmp_path / "nojoints", episodes=3, joints=False))
    with pytest.raises(ValueError, match="has no joint positions: record the joint states topic"):
        train_state_probe(dataset, ProbeTrainConfig(steps=1), ["a", "b"])


def test_too_few_episodes_and_wrong_joint_names_are_refused(arm_dataset):
    with pytest.raises(ValueError, match="has 14 episodes; a state probe needs more than the 14 held out"):
        train_state_probe(arm_dataset, ProbeTrainConfig(steps=1, holdout_episodes=14), ["a", "b"])
    with pytest.raises(ValueError, match=r"1 joint names \['a'\] for a dataset of 2 joints"):
        train_state_probe(arm_dataset, ProbeTrainConfig(steps=1), ["a"])


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(steps=0), "`steps` must be an integer >= 1"),
        (dict(batch_size=1.5), "`batch_size` must be an integer >= 1"),
        (dict(holdout_episodes=0), "`holdout_episodes` must be an integer >= 1"),
        (dict(learning_rate=float("nan")), "`learning_rate` must be a finite number > 0"),
        (dict(max_blur=-1.0), "`max_blur` must be a finite number >= 0"),
    ],
)
def test_bad_training_settings_name_the_setting(changes, message):
    with pytest.raises(ValueError, match=message):
        ProbeTrainConfig(**changes)
