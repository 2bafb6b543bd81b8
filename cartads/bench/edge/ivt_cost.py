"""What judging invalid traffic adds to the edge's ReportEvents: per 10-event call (five impressions
and their clicks, honest), the token checks alone (what the edge did before) against the token
checks and the judge (``edge_node.events.ivt_state``), on one core, in microseconds.

usage: python -m cartads.bench.edge.ivt_cost [--calls N]
"""

from __future__ import annotations

import argparse
import time

from cartads import ivt, tracking_token
from cartads.v1.common_pb2 import CartEvent, EventType
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.events.ivt_state import CallContext, IvtJudge
from edge_node.events.pipeline import _checked

_KEY = b"bench-ivt-signing-key-0123456789"
_STORE = "store-1"


def _calls(count: int, now_ms: int) -> list[list[CartEvent]]:
    out = []
    for c in range(count):
        cart, session = f"cart-{c % 500}", f"s-{c}"
        events = []
        for a in range(5):
            ad = f"ad-{c}-{a}"
            payload = TrackingTokenPayload(
                ad_id=ad, store_id=_STORE, cart_id=cart, session_id=session, issue_time_unix_ms=now_ms - 2_000
            )
            token = tracking_token.sign(payload, _KEY)
            for kind, prefix in ((EventType.EVENT_TYPE_IMPRESSION, "i"), (EventType.EVENT_TYPE_CLICK, "c")):
                event = CartEvent(event_id=f"{prefix}-{c}-{a}", type=kind, cart_id=cart, session_id=session, ad_id=ad)
                event.tracking_token = token
                if kind == EventType.EVENT_TYPE_IMPRESSION:
                    event.visible_duration_ms = 1_200
                events.append(event)
        out.append(events)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args(argv)
    now_ms = int(time.time() * 1000)
    calls = _calls(args.calls, now_ms)
    keys = {"": _KEY}  # tokens of the bench are signed with one key and name none
    judge = IvtJudge(100_000, 8)
    context = CallContext(_STORE, now_ms, 0, 7_200_000, ivt.DEFAULT_POLICY)

    def tokens_only() -> None:
        for events in calls:
            for event in events:
                _checked(keys, event.tracking_token)

    def judged() -> None:
        for events in calls:
            for event in events:
                payload, check = _checked(keys, event.tracking_token)
                judge.judge(event, payload, check, context, 1)

    for name, run in (("token checks only", tokens_only), ("token checks + judge", judged)):
        started = time.perf_counter()
        run()
        print(f"{name}: {(time.perf_counter() - started) / args.calls * 1e6:.1f} us per 10-event call")


if __name__ == "__main__":
    main()
