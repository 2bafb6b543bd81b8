"""AdService: validate a cart's request, select ads, write the answer, hand events to ``events``.

``selection``, ``eligibility``, ``auction``, ``rank_merge`` and ``local_state`` are pure over the
``index`` lookups; ``servicer``, ``validation`` and ``response_wire`` translate protobuf, and
``registration`` lets GetAds answer the bytes ``response_wire`` writes. The two ``.c`` files are
optional accelerators with pure-Python twins (``accelerators``).
"""
