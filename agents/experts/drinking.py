"""Scripted expert for Drinking: the cup upright to 2 cm in front of the lips, tilted over its rim until
the water is in the mouth, righted and withdrawn (``mouth_delivery``)."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import register_expert
from embodia.agents.experts.mouth_delivery import DeliveryTiming, MouthDeliveryExpert


@register_expert("embodia/Drinking-v0")
class DrinkingExpert(MouthDeliveryExpert):
    timing = DeliveryTiming(
        pour_angle_rad=np.deg2rad(65.0), lip_height_m=-0.005, tilt_rate_rad=0.03, min_pour_steps=30, max_pour_steps=80
    )
