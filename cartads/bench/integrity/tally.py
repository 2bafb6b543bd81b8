"""What one attacker did and what it got back, as the attacker process reports it. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc


@dataclass
class AttackTally:
    """Calls and events an attacker sent, and how the servers answered them."""

    attack: str
    calls: int = 0
    events_sent: int = 0
    # Events the server took in (journaled by the edge, or recorded by the cloud).
    events_accepted: int = 0
    # gRPC status names of the refused calls, counted; "OK" is never one.
    refused: Counter[str] = field(default_factory=Counter)
    # Anything the attacker learnt that the audit checks (e.g. an error text), by name.
    notes: dict[str, Any] = field(default_factory=dict)

    def refuse(self, code: grpc.StatusCode) -> None:
        self.refused[code.name] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack,
            "calls": self.calls,
            "events_sent": self.events_sent,
            "events_accepted": self.events_accepted,
            "refused": dict(sorted(self.refused.items())),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AttackTally:
        return cls(
            attack=str(raw["attack"]),
            calls=int(raw["calls"]),
            events_sent=int(raw["events_sent"]),
            events_accepted=int(raw["events_accepted"]),
            refused=Counter({str(k): int(v) for k, v in raw["refused"].items()}),
            notes=dict(raw["notes"]),
        )
