"""Scripted expert for Feeding: the spoon level to 2 cm in front of the lips, tipped 50 degrees until the food
is in the mouth, righted and withdrawn (``mouth_delivery``)."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import register_expert
from embodia.agents.experts.mouth_delivery import DeliveryTiming, MouthDeliveryExpert


@register_expert("embodia/Feeding-v0")
class FeedingExpert(MouthDeliveryExpert):
    timing = DeliveryTiming(pour_angle_rad=np.deg2rad(50.0))
