import math

import pytest
import torch

from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.folder import (
    STATE_PROBE,
    WorldModelFolder,
    load_state_probe,
    save_state_probe,
)
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset
from ros2_vid2world.world_model.state_probe import StateProbe, joint_embedding, joints_from_embedding

PERIODIC = [True, False]


def probe(image_size=(16, 16), seed=0):
    torch.manual_seed(seed)
    names = ["shoulder", "wrist"]
    return StateProbe(joint_names=names, periodic=PERIODIC, image_size=list(image_size)).eval()


def test_embedding_round_trip_wraps_periodic_joints_only():
    joints = torch.tensor([[3.5, 2.5], [-0.2, -2.7]])
    embedding = joint_embedding(joints, PERIODIC)
    assert embedding.shape == (2, 3)
    back = joints_from_embedding(embedding, PERIODIC)
    torch.testing.assert_close(back[:, 0], torch.tensor([3.5 - 2 * math.pi, -0.2]))  # wrapped into (-pi, pi]
    torch.testing.assert_close(back[:, 1], joints[:, 1])


def test_distance_goes_the_way_each_joint_can_move():
    """A periodic joint near +-pi is close to its other side; a joint with stops is not."""
    start, goal = torch.tensor([[3.0, 2.6]]), torch.tensor([[-3.0, -2.6]])
    difference = joint_embedding(start, PERIODIC) - joint_embedding(goal, PERIODIC)
    shoulder = (difference[0, :2] ** 2).sum()
    wrist = difference[0, 2] ** 2
    assert shoulder == pytest.approx(2 - 2 * math.cos(6.0 - 2 * math.pi), rel=1e-5)  # 0.28 rad apart
    assert wrist == pytest.approx(5.2**2, rel=1e-5)  # the long way: through 0


def test_forward_shapes_and_bad_images():
    model = probe()
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    points = model(images)
    assert points.shape == (4, 4)  # (cos, cos, sin, sin): every joint on the unit circle
    joints = model.joints(images)
    torch.testing.assert_close(joints, torch.atan2(points[:, 2:], points[:, :2]))
    # The cost's embedding: the periodic shoulder as (cos, sin), the wrist, which has stops, as its angle.
    torch.testing.assert_close(model.embed(images), joint_embedding(joints, PERIODIC))
    assert model.embed(images).shape == (4, 3)
    with pytest.raises(ValueError, match=r"images must be \[B, 3, 16, 16\]"):
        model(torch.zeros(4, 3, 32, 32))


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(joint_names=[]), "`joint_names` must be a non-empty list"),
        (dict(joint_names=["a", "a"]), "`joint_names` must be unique"),
        (dict(periodic=[True]), "`periodic` must be one true/false per joint"),
        (dict(image_size=[4, 16]), "`image_size` must be"),
        (dict(channels=[8]), "`channels` must list at least 2"),
        (dict(hidden_size=0), "`hidden_size` must be a positive integer"),
    ],
)
def test_bad_configs_name_the_argument(changes, message):
    arguments = dict(joint_names=["a", "b"], periodic=PERIODIC, image_size=[16, 16]) | changes
    with pytest.raises(ValueError, match=message):
        StateProbe(**arguments)


@pytest.fixture(scope="module")
def folder():
    model = causalize(base_unet_from_preset("tiny"), action_dim=2).eval()
    return WorldModelFolder(model, make_scheduler())


def test_a_probe_added_to_a_saved_folder_loads_with_it(folder, tmp_path):
    path = folder.save(tmp_path / "wm")
    assert WorldModelFolder.load(path).state_probe is None
    original = probe(seed=3)
    save_state_probe(path, original)
    assert (path / STATE_PROBE / "diffusion_pytorch_model.safetensors").is_file()
    loaded = WorldModelFolder.load(path).state_probe
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), original(images))
    assert list(loaded.config.periodic) == PERIODIC
    # Saving the whole folder keeps the probe; replacing the probe leaves no staging folder behind.
    resaved = WorldModelFolder.load(path).save(tmp_path / "copy")
    assert load_state_probe(resaved).config.joint_names == ["shoulder", "wrist"]
    save_state_probe(path, probe(seed=4))
    assert sorted(p.name for p in path.iterdir() if p.name.startswith(".")) == []
    # Readable like the rest of the model, not private like a temporary folder.
    assert (path / STATE_PROBE).stat().st_mode & 0o755 == 0o755
    assert all(file.stat().st_mode & 0o644 == 0o644 for file in (path / STATE_PROBE).iterdir())


def test_a_probe_of_another_image_size_is_refused(folder, tmp_path):
    with pytest.raises(ValueError, match="the state probe reads 32x32 images; the world model's are 16x16"):
        WorldModelFolder(folder.model, folder.scheduler, state_probe=probe((32, 32)))


def test_probe_errors_name_the_folder(tmp_path):
    with pytest.raises(ValueError, match="is not a world-model folder"):
        save_state_probe(tmp_path, probe())
    with pytest.raises(ValueError, match="has no state_probe/"):
        load_state_probe(tmp_path)


def test_absolute_errors_are_degrees_the_short_way_round_and_millimetres():
    probe = StateProbe(
        joint_names=["turns", "stops", "slides"], periodic=[True, False, False], image_size=(16, 16),
        units=["rad", "rad", "m"],
    )
    states = torch.tensor([[torch.pi - 0.01, torch.pi - 0.01, 0.25]])
    reference = torch.tensor([[-torch.pi + 0.01, -torch.pi + 0.01, 0.2]])
    errors = probe.absolute_errors(states, reference)
    torch.testing.assert_close(errors, torch.tensor([[1.1459, 358.8541, 50.0]]), atol=1e-3, rtol=0)
    assert probe.error_units == ["deg", "deg", "mm"]


PUSH_STATES = ["pusher_x", "pusher_y", "object_x", "object_y", "object_yaw"]
PUSH_UNITS = ["m", "m", "m", "m", "rad"]


def pooling_probe(image_size=(16, 16)):
    torch.manual_seed(0)
    return StateProbe(PUSH_STATES, [False] * 4 + [True], image_size=list(image_size), units=PUSH_UNITS,
                      yaw_pooling=True).eval()


class FixedMaps(torch.nn.Module):
    """Stands in for the yaw branch: the same weight logits and (cos, sin) maps for every image."""

    def __init__(self, maps):
        super().__init__()
        self.maps = maps

    def forward(self, features):
        return self.maps.expand(len(features), *self.maps.shape[1:])


def test_the_pooled_yaw_is_the_softmax_weighted_mean_of_the_maps():
    model = pooling_probe()
    maps = torch.zeros(1, 3, 4, 4)
    maps[0, 0] = -1e4
    maps[0, 0, 1, 2] = maps[0, 0, 3, 0] = 0.0  # two locations share the weight
    maps[0, 1:, 1, 2] = torch.tensor([0.6, 0.8])
    maps[0, 1:, 3, 0] = torch.tensor([0.2, 0.4])
    model.yaw_maps = FixedMaps(maps)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        points = model(images)
        dense = model.head(model.features(images))
    torch.testing.assert_close(points[:, 4], torch.full((2,), 0.4))  # the yaw's cos: (0.6 + 0.2) / 2
    torch.testing.assert_close(points[:, 9], torch.full((2,), 0.6))  # its sin
    # Every other state is the dense head's, as without pooling.
    keep = [0, 1, 2, 3, 5, 6, 7, 8]
    torch.testing.assert_close(points[:, keep], dense[:, keep])
    torch.testing.assert_close(model.joints(images)[:, 4], torch.full((2,), math.atan2(0.6, 0.4)))


def test_the_pooled_yaw_reads_the_same_wherever_the_object_lies():
    """Attention pooling is translation-equivariant: a pattern moved by the network's stride reads the
    same yaw (away from the borders); the dense head's reading of it moves."""
    model = pooling_probe((96, 96)).double()  # float64: equal to rounding, so any leak shows
    pattern = torch.rand(3, 6, 6, dtype=torch.float64) * 2 - 1
    here, there = torch.full((2, 3, 96, 96), -1.0, dtype=torch.float64).unbind(0)
    here[:, 40:46, 40:46] = pattern
    there[:, 48:54, 40:46] = pattern  # 8 pixels down: one cell of the deepest map
    with torch.no_grad():
        points = model(torch.stack([here, there]))
    torch.testing.assert_close(points[0, [4, 9]], points[1, [4, 9]], atol=1e-12, rtol=0)
    assert (points[0, [0, 5]] - points[1, [0, 5]]).abs().max() > 1e-6


def test_a_pooling_probe_saves_and_loads(folder, tmp_path):
    path = folder.save(tmp_path / "wm")
    original = pooling_probe()
    save_state_probe(path, original)
    loaded = load_state_probe(path)
    assert loaded.config.yaw_pooling is True
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), original(images))


@pytest.mark.parametrize(
    "changes",
    [dict(joint_names=["a", "b"], periodic=[False, False], units=["m", "m"]), dict(units=None)],
)
def test_yaw_pooling_needs_an_object_pose(changes):
    arguments = dict(joint_names=PUSH_STATES, periodic=[False] * 4 + [True], image_size=[16, 16],
                     units=PUSH_UNITS, yaw_pooling=True) | changes
    with pytest.raises(ValueError, match="`yaw_pooling` reads an object's yaw: the states must end with"):
        StateProbe(**arguments)
