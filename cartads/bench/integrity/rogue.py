"""One attacker in its own process: ``python -m cartads.bench.integrity.rogue ATTACK TARGET.json``.

Prints the attacker's tally as one JSON line. A separate process, as a rogue device is: it shares
nothing with the servers but the network.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from cartads.bench.integrity.attacks import ATTACKS, Target, Terms
from cartads.event_loop import loop_factory


def target_from_json(raw: dict[str, Any]) -> Target:
    return Target(**{**raw, "terms": Terms(**raw["terms"])})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ATTACKS:
        print(f"usage: rogue ATTACK TARGET.json  (ATTACK: {', '.join(ATTACKS)})", file=sys.stderr)
        return 2
    target = target_from_json(json.loads(Path(args[1]).read_text()))
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        tally = runner.run(ATTACKS[args[0]](target))
    print(json.dumps(tally.as_dict(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
