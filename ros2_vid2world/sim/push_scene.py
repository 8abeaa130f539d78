"""The pushing scene in MJCF: a walled table, a T-shaped block that slides on it, a round pusher, a camera.

Written here (not taken from gym-pusht or dm_control) and sized after PushT, whose workspace is 512
units with walls ~500 units apart, a T of a 120 x 30 bar over a 90 x 30 stem and an agent of radius
15: read one unit as one millimetre and this scene has the same proportions.

    table       0.50 x 0.50 m inside four walls 0.03 m high; the world origin at its centre, z up
    T block     bar 0.12 x 0.03 m, stem 0.03 x 0.09 m, 0.02 m thick, 1000 kg/m^3 -> 0.126 kg; on three
                planar joints (x, y, yaw), so it slides and turns on the table and never tips or bounces
    friction    Coulomb friction of the block on the table (mu 0.5) as MuJoCo joint friction: mu m g =
                0.62 N along each table axis, and mu m g times the footprint's mean distance from the
                centre of mass (0.040 m) = 0.025 N m against turning; pusher-block contact friction 0.3
    pusher      a cylinder of radius 0.015 m on two slide joints (x, y), 0.2 kg, driven by velocity
                servos (kv 60 N s/m: at speed within ~3 ms; 18 N against a block it cannot move at
                0.3 m/s); only the block touches the pusher, and the block also touches the walls
    camera      orthographic, straight down, 0.54 m across: the whole table and its walls

Joint friction rather than contacts with the table: a free block resting on soft contacts bounced off
the table by a millimetre while pushed and lost its friction a third of the time (at 0.002-0.01 s
physics steps); planar joint friction is per axis, so diagonal sliding meets up to sqrt(2) more of it.

The block's frame has its origin at the block's centre of mass and its y axis along the stem, from the
stem's foot to the bar: at yaw 0 the T reads upright in the image (image up is +y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HALF_WIDTH = 0.25  # m, table inside the walls
GRAVITY = 9.81  # m/s^2
WALL_THICKNESS, WALL_HEIGHT = 0.01, 0.03
BAR = (0.12, 0.03)  # m, x and y extent of the T's bar
STEM = (0.03, 0.09)  # m, the stem below it
THICKNESS = 0.02  # m, the block's height
DENSITY = 1000.0  # kg/m^3
TABLE_FRICTION = 0.5  # block-table sliding friction coefficient (joint friction, see table_friction)
PUSHER_FRICTION = 0.3  # pusher-block contact friction
PUSHER_RADIUS, PUSHER_MASS = 0.015, 0.2
SERVO_GAIN = 60.0  # N s/m: the velocity servo (3 ms to speed); its force is the gain times the speed error
PHYSICS_STEP = 0.01  # s: half of MuJoCo's default contact time constant (0.02 s), as it asks
CAMERA_SPAN = 2 * (HALF_WIDTH + WALL_THICKNESS) + 0.02  # m shown across the image
PUSHER_RANGE = HALF_WIDTH - PUSHER_RADIUS  # the pusher's centre stays this far from the table's centre

CAMERA = "top"
BLOCK, PUSHER = "block", "pusher"
PUSHER_JOINTS = ("pusher_x", "pusher_y")
BLOCK_GEOMS = ("block_bar", "block_stem")
WALL_GEOMS = ("wall_east", "wall_west", "wall_north", "wall_south")


@dataclass(frozen=True)
class BlockShape:
    """The T in its own frame (origin at its centre of mass): its two boxes' centres (x, y), its mass."""

    bar_centre: tuple[float, float]
    stem_centre: tuple[float, float]
    mass: float


def block_shape() -> BlockShape:
    bar_area, stem_area = BAR[0] * BAR[1], STEM[0] * STEM[1]
    bar_y, stem_y = BAR[1] / 2, -STEM[1] / 2  # bar on top of the stem's upper end at y = 0
    centre_y = (bar_area * bar_y + stem_area * stem_y) / (bar_area + stem_area)
    mass = DENSITY * (bar_area + stem_area) * THICKNESS
    return BlockShape((0.0, bar_y - centre_y), (0.0, stem_y - centre_y), mass)


def scene_xml() -> str:
    """The MJCF of the whole scene."""
    shape = block_shape()
    force, torque = table_friction(shape)
    half_t = THICKNESS / 2
    wall_offset = HALF_WIDTH + WALL_THICKNESS / 2
    wall_half = HALF_WIDTH + WALL_THICKNESS
    walls = "\n".join(
        f'    <geom name="{name}" type="box" pos="{x:g} {y:g} {WALL_HEIGHT / 2:g}" '
        f'size="{sx:g} {sy:g} {WALL_HEIGHT / 2:g}" material="wall"/>'
        for name, x, y, sx, sy in (
            ("wall_east", wall_offset, 0, WALL_THICKNESS / 2, wall_half),
            ("wall_west", -wall_offset, 0, WALL_THICKNESS / 2, wall_half),
            ("wall_north", 0, wall_offset, wall_half, WALL_THICKNESS / 2),
            ("wall_south", 0, -wall_offset, wall_half, WALL_THICKNESS / 2),
        )
    )
    # contype/conaffinity: the pusher (2) touches only the block (3); table and walls (1) the block too.
    return f"""\
<mujoco model="push_t">
  <option timestep="{PHYSICS_STEP}" integrator="implicitfast" cone="elliptic"/>
  <visual>
    <headlight ambient="0.4 0.4 0.4" diffuse="0.2 0.2 0.2" specular="0 0 0"/>
    <global offwidth="640" offheight="480"/>
  </visual>
  <asset>
    <material name="table" rgba="0.93 0.93 0.9 1"/>
    <material name="wall" rgba="0.35 0.35 0.38 1"/>
    <material name="block" rgba="0.85 0.42 0.18 1"/>
    <material name="pusher" rgba="0.2 0.35 0.85 1"/>
  </asset>
  <default>
    <geom contype="1" conaffinity="1" friction="{PUSHER_FRICTION} 0.005 0.0001"/>
  </default>
  <worldbody>
    <light name="top" pos="0 0 1" dir="0 0 -1" directional="true" castshadow="false" diffuse="0.4 0.4 0.4"/>
    <camera name="{CAMERA}" pos="0 0 1" projection="orthographic" fovy="{CAMERA_SPAN:g}"/>
    <geom name="table" type="plane" size="{wall_half:g} {wall_half:g} 0.01" material="table"
          contype="0" conaffinity="0"/>
{walls}
    <body name="{BLOCK}" pos="0 0 {half_t:g}">
      <joint name="block_x" type="slide" axis="1 0 0" frictionloss="{force:.6f}"/>
      <joint name="block_y" type="slide" axis="0 1 0" frictionloss="{force:.6f}"/>
      <joint name="block_yaw" type="hinge" axis="0 0 1" frictionloss="{torque:.6f}"/>
      <geom name="block_bar" type="box" pos="{shape.bar_centre[0]:g} {shape.bar_centre[1]:.6f} 0"
            size="{BAR[0] / 2:g} {BAR[1] / 2:g} {half_t:g}" density="{DENSITY:g}" material="block"
            contype="3" conaffinity="3"/>
      <geom name="block_stem" type="box" pos="{shape.stem_centre[0]:g} {shape.stem_centre[1]:.6f} 0"
            size="{STEM[0] / 2:g} {STEM[1] / 2:g} {half_t:g}" density="{DENSITY:g}" material="block"
            contype="3" conaffinity="3"/>
    </body>
    <body name="{PUSHER}" pos="0 0 {WALL_HEIGHT / 2:g}">
      <joint name="{PUSHER_JOINTS[0]}" type="slide" axis="1 0 0" range="{-PUSHER_RANGE:g} {PUSHER_RANGE:g}"/>
      <joint name="{PUSHER_JOINTS[1]}" type="slide" axis="0 1 0" range="{-PUSHER_RANGE:g} {PUSHER_RANGE:g}"/>
      <geom name="pusher" type="cylinder" size="{PUSHER_RADIUS:g} {WALL_HEIGHT / 2:g}" mass="{PUSHER_MASS:g}"
            material="pusher" contype="2" conaffinity="2"/>
    </body>
  </worldbody>
  <actuator>
    <velocity name="{PUSHER_JOINTS[0]}" joint="{PUSHER_JOINTS[0]}" kv="{SERVO_GAIN:g}" ctrlrange="-10 10"/>
    <velocity name="{PUSHER_JOINTS[1]}" joint="{PUSHER_JOINTS[1]}" kv="{SERVO_GAIN:g}" ctrlrange="-10 10"/>
  </actuator>
</mujoco>
"""


def block_reach(shape: BlockShape) -> float:
    """m: the farthest point of the T from its centre of mass (a corner of one of its boxes)."""
    corners = [
        np.hypot(cx + sx * dx / 2, cy + sy * dy / 2)
        for (cx, cy), (sx, sy) in ((shape.bar_centre, BAR), (shape.stem_centre, STEM))
        for dx in (-1, 1)
        for dy in (-1, 1)
    ]
    return float(max(corners))


def table_friction(shape: BlockShape) -> tuple[float, float]:
    """(N, N m): Coulomb friction of the block on the table, mu m g against sliding and, for an even
    pressure over the T's footprint, mu m g times its mean distance from the centre against turning."""
    force = TABLE_FRICTION * shape.mass * GRAVITY
    # The mean distance of the footprint from the centre of mass, on a 1 mm grid of each box.
    radii = []
    for (cx, cy), (sx, sy) in ((shape.bar_centre, BAR), (shape.stem_centre, STEM)):
        xs = cx + (np.arange(round(sx * 1000)) + 0.5) / 1000 - sx / 2
        ys = cy + (np.arange(round(sy * 1000)) + 0.5) / 1000 - sy / 2
        radii.append(np.hypot(*np.meshgrid(xs, ys)).ravel())
    return force, force * float(np.concatenate(radii).mean())
