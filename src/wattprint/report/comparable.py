"""What may be compared with what: the one key every average, headline and rating of a report groups by.

Two figures are comparable when they were measured under the same protocol (preset), both at full size or
both shrunk by that preset (quick's image generation at 2 steps and 64x64 does a fraction of a full image's
work), and for the same kind of model. Task-specific and general-purpose models are kept apart as in the
study the benchmark follows (Luccioni, Jernite and Strubell 2024, arXiv:2311.16863: general-purpose models
have their own columns). Averages, medians, spreads and headlines are computed within one key only. Star
ratings and leaderboards rank models of every kind side by side, but only within one protocol
(:meth:`Comparable.protocol`): comparing a general-purpose model with the task-specific ones is what a
leaderboard is for.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("task-specific", "general-purpose", "unknown")
KIND_TITLES = {"task-specific": "task-specific", "general-purpose": "general-purpose", "unknown": "unclassified"}


def kind_of(kind: str) -> str:
    """A record's model kind, with anything unrecognised as "unknown"."""
    return kind if kind in KINDS else "unknown"


@dataclass(frozen=True, order=True)
class Protocol:
    """A preset and whether it shrank the work per inference: rows of one protocol are measured alike."""

    preset: str
    shrunk: bool

    def label(self) -> str:
        return f"{self.preset} preset" + (", shrunk runs" if self.shrunk else "")


@dataclass(frozen=True, order=True)
class Comparable:
    """The comparability key: protocol (preset), shrunk or full-size, model kind."""

    preset: str
    shrunk: bool
    kind: str

    @property
    def protocol(self) -> Protocol:
        return Protocol(self.preset, self.shrunk)

    def label(self) -> str:
        return f"{KIND_TITLES.get(self.kind, self.kind)} models, {self.protocol.label()}"

    def to_dict(self) -> dict[str, object]:
        return {"preset": self.preset, "shrunk": self.shrunk, "model_kind": self.kind}


def primary_kind(kinds: set[str]) -> str:
    """The kind a protocol's headline is computed over: task-specific where there are any (the study's
    per-task table), else the first kind present."""
    return next((k for k in KINDS if k in kinds), "unknown")
