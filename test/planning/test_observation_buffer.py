import pytest
import torch

from ros2_vid2world.planning.observation_buffer import ObservationBuffer


def frame(value):
    return torch.full((3, 2, 2), float(value))


def test_keeps_the_newest_frames_and_the_actions_between_them():
    buffer = ObservationBuffer(3, action_dim=2)
    buffer.append(frame(0), None)
    for i in range(1, 5):
        buffer.append(frame(i), torch.tensor([i, -i], dtype=torch.float32))
    frames, actions = buffer.history()
    assert frames.shape == (1, 3, 3, 2, 2) and actions.shape == (1, 2, 2)
    assert frames[0, :, 0, 0, 0].tolist() == [2, 3, 4]
    assert actions[0, :, 0].tolist() == [3, 4]  # the actions that led to frames 3 and 4


def test_unknown_action_restarts_the_history():
    buffer = ObservationBuffer(3, action_dim=1)
    buffer.append(frame(0), None)
    buffer.append(frame(1), torch.ones(1))
    buffer.append(frame(2), None)
    frames, actions = buffer.history()
    assert frames.shape[1] == 1 and actions.shape == (1, 0, 1)


def test_resize_keeps_the_newest():
    buffer = ObservationBuffer(4, action_dim=1)
    buffer.append(frame(0), None)
    for i in range(1, 4):
        buffer.append(frame(i), torch.tensor([float(i)]))
    buffer.resize(2)
    frames, actions = buffer.history()
    assert frames[0, :, 0, 0, 0].tolist() == [2, 3] and actions[0, :, 0].tolist() == [3]
    buffer.resize(5)
    buffer.append(frame(4), torch.tensor([4.0]))
    assert buffer.history()[0].shape[1] == 3


def test_errors_are_named():
    buffer = ObservationBuffer(2, action_dim=2)
    with pytest.raises(ValueError, match="no observation yet"):
        buffer.history()
    buffer.append(frame(0), None)
    with pytest.raises(ValueError, match=r"`executed_action` must be \[2\]. Got \(3,\)"):
        buffer.append(frame(1), torch.zeros(3))
    with pytest.raises(ValueError, match="`capacity` must be >= 1"):
        ObservationBuffer(0, action_dim=2)
