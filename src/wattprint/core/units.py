"""SI inside (J, W, s, gCO2e); these convert at the edges."""

from __future__ import annotations

J_PER_WH = 3600.0
J_PER_KWH = 3_600_000.0


def j_to_wh(joules: float) -> float:
    return joules / J_PER_WH


def j_to_kwh(joules: float) -> float:
    return joules / J_PER_KWH


def wh_to_j(wh: float) -> float:
    return wh * J_PER_WH


def kwh_to_j(kwh: float) -> float:
    return kwh * J_PER_KWH


def format_energy(joules: float) -> str:
    """A human string for an energy, choosing J, Wh or kWh by size."""
    if abs(joules) < J_PER_WH:
        return f"{joules:.3g} J"
    if abs(joules) < J_PER_KWH:
        return f"{j_to_wh(joules):.4g} Wh"
    return f"{j_to_kwh(joules):.4g} kWh"
