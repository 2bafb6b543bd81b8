"""The demo's summary: what carts reported against what the cloud billed (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cart_client.app.runner import TripStats
from cartads.v1 import admin_pb2


@dataclass(frozen=True)
class CampaignLine:
    campaign_id: str
    name: str
    impressions: int
    clicks: int
    spend_micros: int
    budget_micros: int


@dataclass(frozen=True)
class DemoSummary:
    """The demo's figures, named so that they add up (README, "Quick start"):

    - every GetAds call once: ``ad_requests = ad_requests_filled + ad_requests_no_fill + ad_requests_failed``
      (failed: no answer within the deadline, house content shown); ``no_fill_reasons`` splits the no-fills;
    - ``ads_served`` counts ads, not answers: a filled answer holds one ad per slot it fills;
    - ``billable_events_reported = impressions_reported + clicks_reported``, what carts reported that a
      token can bill; ``all_events_reported`` adds the basket changes and checkouts, which bill nothing;
    - ``events_billed = impressions_billed + clicks_billed + conversions_billed``; conversions are made
      by the edge, never reported by a cart.
    """

    trips: int
    carts: int
    ad_requests: int
    ad_requests_filled: int
    ad_requests_no_fill: int
    ad_requests_failed: int
    ads_served: int
    impressions_reported: int
    clicks_reported: int
    all_events_reported: int
    events_billed: int
    impressions_billed: int
    clicks_billed: int
    spend_micros: int
    index_version: str
    elapsed_s: float
    campaigns: Sequence[CampaignLine] = field(default_factory=tuple)
    # Conversions the edge attributed (add-to-cart after an ad) and the cloud billed; carts report
    # none of them, so they are not compared with what carts reported.
    conversions_billed: int = 0
    no_fill_reasons: Mapping[str, int] = field(default_factory=dict)

    @property
    def billable_events_reported(self) -> int:
        """The reported events a token can bill: impressions and clicks."""
        return self.impressions_reported + self.clicks_reported

    @property
    def billed_matches_reported(self) -> bool:
        """Every impression and click the carts had acknowledged was billed, and nothing else."""
        return (
            self.impressions_billed == self.impressions_reported
            and self.clicks_billed == self.clicks_reported
            and self.events_billed == self.billable_events_reported + self.conversions_billed
        )

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["campaigns"] = [asdict(c) for c in self.campaigns]
        out["no_fill_reasons"] = dict(self.no_fill_reasons)
        out["billable_events_reported"] = self.billable_events_reported
        out["billed_matches_reported"] = self.billed_matches_reported
        return out


def summarize(
    stats: Iterable[TripStats],
    report: admin_pb2.GetSpendReportResponse,
    *,
    carts: int,
    index_version: str,
    elapsed_s: float,
) -> DemoSummary:
    """Add up the trips and put the cloud's spend report beside them."""
    trips = list(stats)
    total = TripStats.total(trips)
    campaigns = tuple(
        CampaignLine(
            campaign_id=c.campaign_id,
            name=c.display_name,
            impressions=c.impressions,
            clicks=c.clicks,
            spend_micros=c.spend_micros,
            budget_micros=c.budget_micros,
        )
        for c in sorted(report.campaigns, key=lambda c: (-c.spend_micros, c.campaign_id))
    )
    return DemoSummary(
        trips=len(trips),
        carts=carts,
        ad_requests=total.ad_requests,
        ad_requests_filled=total.ad_requests_filled,
        ad_requests_no_fill=total.no_fill_count,
        ad_requests_failed=total.ad_request_errors,
        ads_served=total.ads_served,
        impressions_reported=total.impressions_reported,
        clicks_reported=total.clicks_reported,
        all_events_reported=total.events_reported,
        events_billed=report.billed_event_count,
        impressions_billed=sum(c.impressions for c in campaigns),
        clicks_billed=sum(c.clicks for c in campaigns),
        spend_micros=report.total_spend_micros,
        index_version=index_version,
        elapsed_s=round(elapsed_s, 3),
        campaigns=campaigns,
        conversions_billed=sum(c.conversions for c in report.campaigns),
        no_fill_reasons=total.no_fill_reasons,
    )


def render_text(summary: DemoSummary) -> str:
    """A short human-readable report."""
    reasons = ", ".join(f"{k} {n}" for k, n in sorted(summary.no_fill_reasons.items(), key=lambda kv: -kv[1]))
    lines = [
        f"CartAds demo: {summary.trips} real Instacart trips through {summary.carts} concurrent carts "
        f"in {summary.elapsed_s:.1f} s (index {summary.index_version[:12]})",
        f"  ad requests {summary.ad_requests} = {summary.ad_requests_filled} filled + {summary.ad_requests_no_fill}"
        f" no fill + {summary.ad_requests_failed} failed (no answer in time: house content shown)",
        f"  no fill by reason: {reasons or 'none'}",
        f"  ads served {summary.ads_served} (in the filled answers, one per slot filled)",
        f"  impressions reported {summary.impressions_reported:>6}   billed {summary.impressions_billed:>6}",
        f"  clicks reported      {summary.clicks_reported:>6}   billed {summary.clicks_billed:>6}",
        f"  conversions (made by the edge)  billed {summary.conversions_billed:>6}",
        f"  billable events reported {summary.billable_events_reported} (impressions + clicks)   events billed"
        f" {summary.events_billed} (impressions + clicks + conversions)   spend ${summary.spend_micros / 1e6:,.2f}",
        f"  all events reported {summary.all_events_reported} (also basket changes and checkouts, which bill nothing)",
        "",
        f"  {'campaign':<36} {'impr':>6} {'clicks':>6} {'spend':>10} {'budget':>10}",
    ]
    lines += [
        f"  {c.name[:36]:<36} {c.impressions:>6} {c.clicks:>6} "
        f"{c.spend_micros / 1e6:>10.2f} {c.budget_micros / 1e6:>10.2f}"
        for c in summary.campaigns
    ]
    verdict = "billed == reported" if summary.billed_matches_reported else "MISMATCH between billed and reported"
    lines += ["", f"  {verdict}"]
    return "\n".join(lines)
