"""How every node process of this package starts rclpy and stops on a signal.

rclpy's own signal handlers shut the context down at once, while a callback may still be publishing
(an RCLError traceback, exit 1) and before a node can send its final hold. Instead SIGINT and SIGTERM
raise KeyboardInterrupt in the main thread, and main() ends the node itself, in order.
"""

from __future__ import annotations

import signal

import rclpy
from rclpy.signals import SignalHandlerOptions


def raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def init_with_interrupts(args: list[str] | None = None) -> None:
    """rclpy.init without rclpy's signal handlers; SIGINT and SIGTERM raise KeyboardInterrupt."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    # Started from a script's background job, a process inherits SIGINT ignored and would never see a
    # launcher's or the user's Ctrl-C: take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
