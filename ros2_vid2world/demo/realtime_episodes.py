"""The learned planner's episodes with a robot that does not wait: sim_node in `mode: realtime`.

The world runs on the wall clock whatever the planner does: the sim's physics steps every 20 ms with
the command in force, its camera streams every control period, stamped with the wall clock, and the
planner (use_sim_time false) plays its plans one action per control period. One episode: with the
planner disabled, set the sim's `episode_seed` and call ~/reset_episode; ~/reset and ~/enable true on
the planner; the episode ends at the sim's first success or when `max_steps` control periods of
commanded motion are spent (the sim's `max_motion_steps`), or after a wall-time cap; ~/enable false.

Recorded per episode: success, the wall time from enable to success, the motion it took, the fingertip
distance every control period, the planner's decision latencies (~/plan_latency) and how long each
command stayed in force on the sim's side (~/command_in_force: receipt to replacement).
"""

from __future__ import annotations

import re
import time

from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from std_msgs.msg import Float64, Float64MultiArray
from std_srvs.srv import Trigger

from .demo_settings import PLANNER_NODE, SIM_NODE
from .episode_record import EpisodeRecord
from .episode_runner import RELIABLE, RosEpisodeRunner
from .node_processes import NodeFailure

# Wall time an episode may take per control period of motion in its budget: a decision of a few
# seconds per executed step (hold_while_planning with one step per decision) fits with room to spare.
WALL_S_PER_MOTION_STEP = 20.0


class RealtimeEpisodeRunner(RosEpisodeRunner):
    """Episodes against a sim that keeps moving; the same topics and services as the lockstep runner,
    plus the sim's ~/status (one message per observation: episode, step, success, distance, motion)."""

    def _subscribe(self) -> None:
        super()._subscribe()
        self._status: list[tuple[float, list[float]]] = []
        self._in_force: list[tuple[float, float]] = []
        self._latencies: list[tuple[float, float]] = []
        node = self.node
        node.create_subscription(Float64MultiArray, f"{SIM_NODE}/status", self._on_status, RELIABLE)
        node.create_subscription(Float64, f"{SIM_NODE}/command_in_force", self._on_in_force, RELIABLE)
        node.create_subscription(Float64, f"{PLANNER_NODE}/plan_latency", self._on_latency, RELIABLE)

    def _on_status(self, msg: Float64MultiArray) -> None:
        self._status.append((time.monotonic(), list(msg.data)))

    def _on_in_force(self, msg: Float64) -> None:
        self._in_force.append((time.monotonic(), msg.data))

    def _on_latency(self, msg: Float64) -> None:
        self._latencies.append((time.monotonic(), msg.data))

    def run_episode(self, index: int, seed: int, max_steps: int) -> EpisodeRecord:
        started = time.perf_counter()
        record = EpisodeRecord(policy="learned", index=index, seed=seed)
        if self._planner_enabled and not self.set_planner_enabled(False):
            record.notes.append("the planner's hold command before the reset was not seen")
        episode, first, record.goal = self._reset_streaming_sim(seed)
        record.distances.append(first[3])
        enabled = time.monotonic()
        if first[2]:
            record.success_step, record.time_to_success_s = 0, 0.0
        else:
            self.call(Trigger, f"{PLANNER_NODE}/reset", Trigger.Request())
            self.set_planner_enabled(True)
            enabled = time.monotonic()
            self._follow(record, episode, enabled, max_steps, index)
        if not self.set_planner_enabled(False):
            record.notes.append("the planner's hold command after the episode was not seen")
        record.longest_command_s = max((s for when, s in self._in_force if when >= enabled), default=0.0)
        record.latencies_s = [seconds for when, seconds in self._latencies if when >= enabled]
        self._status, self._in_force, self._latencies = [], [], []
        record.wall_s = time.perf_counter() - started
        return record

    def _follow(
        self, record: EpisodeRecord, episode: int, enabled: float, max_steps: int, index: int
    ) -> None:
        """Read the sim's status stream until success, the motion budget, or the wall-time cap."""
        cap = WALL_S_PER_MOTION_STEP * max_steps
        deadline = enabled + cap
        seen = 0
        while True:
            self.check_processes(f"episode {index + 1}")
            statuses = [(when, s) for when, s in self._status if round(s[0]) == episode]
            for when, (_, step, success, distance, motion) in statuses[seen:]:
                if step == 0:
                    continue  # the reset's own observation, already recorded
                record.distances.append(distance)
                record.motion_steps = motion
                if success:
                    record.success_step = record.steps = max(1, round(motion))
                    record.time_to_success_s = when - enabled
                    return
                if motion >= max_steps - 1e-6:
                    record.steps = max_steps
                    return
            seen = len(statuses)
            if time.monotonic() > deadline:
                record.steps = round(record.motion_steps)
                record.notes.append(f"wall-time cap of {cap:.0f} s reached")
                return
            self.executor.spin_once(timeout_sec=0.05)

    def _reset_streaming_sim(self, seed: int) -> tuple[int, list[float], object]:
        """Reset the sim to `seed` while it streams: (the new episode's number, its first status
        [episode, step, success, distance, motion], its goal image)."""
        request = SetParameters.Request(parameters=[Parameter("episode_seed", value=seed).to_parameter_msg()])
        result = self.call(SetParameters, f"{SIM_NODE}/set_parameters", request).results[0]
        if not result.successful:
            raise NodeFailure(f"sim_node refused episode_seed {seed}: {result.reason}")
        goals = len(self._goals)
        response = self.call(Trigger, f"{SIM_NODE}/reset_episode", Trigger.Request())
        found = re.match(r"episode (\d+) \(seed (\d+)\)", response.message or "")
        if not response.success or found is None or int(found[2]) != seed:
            raise NodeFailure(f"sim_node did not start an episode with seed {seed}: {response.message!r}")
        episode = int(found[1])

        def first_status():
            return next((s for _, s in self._status if round(s[0]) == episode and s[1] == 0), None)

        self.spin_until(
            lambda: len(self._goals) > goals and first_status() is not None,
            30.0,
            "the new episode's goal and first observation",
        )
        return episode, first_status(), self._goals[-1][1]
