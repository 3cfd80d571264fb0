"""The staged engine: ``dedup clean`` as stages over shards of the input (map, pairs,
screen, components, replay, join), each a set of tasks that an executor runs here or on
Ray, giving the single-machine run's output byte for byte."""

from .driver import StagedRun
from .executors import EngineError, InProcess, OnRay
from .stages import Report

__all__ = ["EngineError", "InProcess", "OnRay", "Report", "StagedRun"]
