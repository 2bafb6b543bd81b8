"""GetDeliveryStatus over gRPC with the cloud on PostgreSQL: test_delivery_status.py's tests (which run
on SQLite) collected again here, their ``loop`` a cloud on PostgreSQL (skipped when the server is
down, a failure under CI=true). The cartads-admin subprocess test stays SQLite only: it reads what
these read."""

from __future__ import annotations

import pytest

from tests.integration.engine_loop import engine_loop
from tests.integration.test_delivery_status import (  # noqa: F401 (collected here, on PostgreSQL)
    test_a_budget_all_but_spent_reads_as_plain_words,
    test_a_serving_campaign_shows_its_lease_and_plan_per_store,
    test_another_advertisers_campaign_is_permission_denied,
    test_bad_requests_name_the_field,
)

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
# The imported tests ask for ``loop``: here it is the loop on this module's engine.
loop = engine_loop
