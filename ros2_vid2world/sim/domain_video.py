"""Action-free video of other DeepMind Control domains: a pre-training corpus that is not the target's data.

Vid2World's claim is that a video model pre-trained on *other* video makes a better world model than
one trained from scratch on the same labelled data. Here the other video is rendered headless from
the DeepMind Control suite (cheetah, walker, finger, cartpole, ...), driven by random actions held
for a few steps, and written straight into a dataset folder with no actions (action dimension 0):
`vid2world train --pretrain-data` learns video from it in stage (a); stage (b) never sees it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering, as the reacher

from ..dataset import DatasetWriter  # noqa: E402


def domain_tasks() -> dict[str, list[str]]:
    """Domain -> its tasks, as the installed dm_control suite lists them."""
    from dm_control import suite

    tasks: dict[str, list[str]] = {}
    for domain, task in suite.ALL_TASKS:
        tasks.setdefault(domain, []).append(task)
    return tasks


def domain_environment(domain, task, episodes, steps, size, camera, seed, frame_period):
    """(the loaded environment, its task) after checking every setting; ValueError naming the option."""
    from dm_control import suite

    tasks = domain_tasks()
    if domain not in tasks:
        raise ValueError(f"--domain must be one of {sorted(tasks)}. Got {domain!r}.")
    task = task or tasks[domain][0]
    if task not in tasks[domain]:
        raise ValueError(f"--task of {domain} must be one of {tasks[domain]}. Got {task!r}.")
    for name, value in (("episodes", episodes), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"--{name} must be a positive integer. Got {value!r}.")
    if not 8 <= size <= 1024:
        raise ValueError(f"--size must be in [8, 1024]. Got {size}.")
    if not frame_period > 0:
        raise ValueError(f"--frame-period must be > 0. Got {frame_period}.")
    env = suite.load(domain, task, task_kwargs={"random": seed})
    if not 0 <= camera < env.physics.model.ncam:
        raise ValueError(f"--camera of {domain} must be in [0, {env.physics.model.ncam - 1}]. Got {camera}.")
    return env, task


def record_domain_video(
    out: str | Path,
    domain: str,
    *,
    episodes: int,
    steps: int,
    size: int = 64,
    task: str | None = None,
    camera: int = 0,
    seed: int = 0,
    frame_period: float = 0.1,
    on_step: Callable[[], None] | None = None,
) -> dict:
    """Render `episodes` random-action episodes of `steps` frames of `domain` into the dataset folder
    `out` (frames only: steps + 1 per episode), one frame every `frame_period` seconds of simulated
    time (the nearest whole number of the domain's control steps: the reacher's 0.1 s by default,
    where a domain's own control step is often 0.01-0.025 s). Returns a summary."""
    env, task = domain_environment(domain, task, episodes, steps, size, camera, seed, frame_period)
    spec = env.action_spec()
    rng = np.random.default_rng(seed)
    repeat = max(1, round(frame_period / env.control_timestep()))
    fps = 1.0 / (repeat * env.control_timestep())
    started = time.perf_counter()
    with DatasetWriter(out, fps=fps) as writer:
        for _ in range(episodes):
            env.reset()
            frames = [env.physics.render(size, size, camera_id=camera)]
            action, hold = None, 0
            for _ in range(steps):
                if hold == 0:  # random actions held for 1-4 steps: motion rather than jitter
                    action, hold = rng.uniform(spec.minimum, spec.maximum), int(rng.integers(1, 5))
                for _ in range(repeat):
                    env.step(action)
                hold -= 1
                frames.append(env.physics.render(size, size, camera_id=camera))
                if on_step is not None:
                    on_step()
            video = np.stack(frames).astype(np.uint8)
            no_actions = np.zeros((len(video), 0), np.float32)
            writer.add_episode(video, no_actions, source=f"dm_control {domain}/{task}")
        writer.close(
            sources=[{"dm_control": f"{domain}/{task}", "camera": camera, "seed": seed}],
            action_source="none (action-free video)",
            control_period=1.0 / fps,
            action_space=None,
        )
    return {
        "out": str(out), "domain": domain, "task": task, "camera": camera, "episodes": episodes,
        "frames": episodes * (steps + 1), "fps": fps, "control_steps_per_frame": repeat, "image_size": size,
        "seconds": time.perf_counter() - started,
    }
