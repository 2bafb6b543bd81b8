"""AdService: validate a cart's request, select ads, write the answer, hand events to ``events``.

``selection``, ``eligibility``, ``auction``, ``rank_merge`` and ``local_state`` are pure over the
``index`` lookups; ``servicer``, ``validation`` and ``response_wire`` translate protobuf, and
``registration`` lets GetAds answer the bytes ``response_wire`` writes; ``store_info`` answers
GetStoreInfo (the store's name and zones, for the carts' screens) from the index. ``cart_gate`` admits each call:
which enrolled cart it is (``cart_auth``, against the index's carts) and whether it is within its
limits (``cart_quota``, pure). The two ``.c`` files are
optional accelerators with pure-Python twins (``accelerators``).
"""
