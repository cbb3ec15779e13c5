"""Published body proportions the parametric person is scaled from (sources below).

- Stature and body mass of Japanese adults aged 75+ by sex, percentiles 25/50/75: MHLW, Dietary Reference
  Intakes for Japanese (2025), reference tables 1-2, from the National Health and Nutrition Surveys 2018-2019.
  Other percentiles come from a normal distribution fitted to the quartiles (sigma = (P75 - P25) / 1.349).
- Segment lengths as fractions of stature: Drillis & Contini (1966), reproduced in Winter, *Biomechanics and
  Motor Control of Human Movement*, Fig. 4.1. Shoulder width uses 0.235 H, the narrower value of Japanese older
  adults (AIST 1997-98 summary), instead of Drillis' 0.259 H.
- Segment mass fractions: Dempster via Winter (2009).
- Segment radii: Assistive Gym's 50th-percentile capsules (Erickson et al. 2020), scaled with stature.
"""

from __future__ import annotations

from statistics import NormalDist

#: stature (m) and body mass (kg) at percentiles 25, 50, 75, men and women aged 75+ (MHLW 2025).
STATURE_QUARTILES_M = {"male": (1.576, 1.620, 1.660), "female": (1.438, 1.483, 1.522)}
BODY_MASS_QUARTILES_KG = {"male": (55.0, 61.0, 67.6), "female": (44.0, 49.3, 55.1)}

#: segment length / stature (Drillis & Contini 1966).
LENGTH_FRACTION = {
    "upper_arm": 0.186,
    "forearm": 0.146,
    "hand": 0.108,
    "thigh": 0.245,
    "shank": 0.246,
    "foot": 0.152,
    "shoulder_width": 0.235,
    "hip_width": 0.191,
    "head": 0.130,
}
#: sitting height / stature for older adults (Drillis & Contini 1966; 0.52-0.54 H).
SITTING_HEIGHT_FRACTION = 0.53

#: segment mass / body mass (Dempster via Winter 2009); the trunk is split into thorax, abdomen and pelvis.
MASS_FRACTION = {
    "hand": 0.006,
    "forearm": 0.016,
    "upper_arm": 0.028,
    "thigh": 0.100,
    "shank": 0.0465,
    "foot": 0.0145,
    "head_neck": 0.081,
    "thorax": 0.216,
    "abdomen": 0.139,
    "pelvis": 0.142,
}

#: capsule radii (m) at the reference stature, Assistive Gym's 50th-percentile capsules (Erickson et al. 2020).
REFERENCE_STATURE_M = {"male": 1.75, "female": 1.62}
RADIUS_M = {
    "male": {"upper_arm": 0.043, "forearm": 0.033, "hand": 0.043, "thigh": 0.08, "shank": 0.05, "neck": 0.06},
    "female": {"upper_arm": 0.0355, "forearm": 0.027, "hand": 0.0355, "thigh": 0.0775, "shank": 0.045, "neck": 0.05},
}


def quantile(quartiles: tuple[float, float, float], percentile: float) -> float:
    """The value at ``percentile`` (1-99) of a normal distribution fitted to (P25, P50, P75)."""
    p25, p50, p75 = quartiles
    sigma = (p75 - p25) / (2 * NormalDist().inv_cdf(0.75))
    return p50 + sigma * NormalDist().inv_cdf(percentile / 100.0)


def stature_m(sex: str, percentile: float) -> float:
    return quantile(STATURE_QUARTILES_M[sex], percentile)


def body_mass_kg(sex: str, percentile: float) -> float:
    return quantile(BODY_MASS_QUARTILES_KG[sex], percentile)


def segment_lengths_m(stature: float) -> dict[str, float]:
    lengths = {name: fraction * stature for name, fraction in LENGTH_FRACTION.items()}
    lengths["sitting_height"] = SITTING_HEIGHT_FRACTION * stature
    return lengths


def segment_radii_m(sex: str, stature: float) -> dict[str, float]:
    scale = stature / REFERENCE_STATURE_M[sex]
    return {name: radius * scale for name, radius in RADIUS_M[sex].items()}


def segment_masses_kg(body_mass: float) -> dict[str, float]:
    return {name: fraction * body_mass for name, fraction in MASS_FRACTION.items()}
