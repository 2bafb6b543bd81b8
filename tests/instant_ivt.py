"""An invalid traffic policy for tests whose carts report an ad the moment they get it.

A real cart reports an impression after its ad was visible for a second, so the rules call an
impression or a click received sooner after its decision TOO_FAST. Tests that drive carts by hand
without waiting set this policy (the cloud's ``CloudConfig.ivt_policy``, which the compiler writes
into the index for the edge): the after-decision thresholds below zero, so no wait is too short;
every other rule (visible duration too) stands as by default.
"""

from __future__ import annotations

from cartads import ivt

INSTANT_IVT = ivt.IvtPolicy(min_impression_after_decision_ms=-1, min_click_after_decision_ms=-1)
