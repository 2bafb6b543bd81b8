"""What the cloud records to vouch for charges, on both engines: terms of sent versions, their
retention, the assets they reference, and signing keys."""

from __future__ import annotations

from cloud_core.compile.terms import LineItemTerms, VersionTerms, encode_terms
from cloud_core.storage.cloud_store import SqlCloudStore

DAY_US = 86_400 * 1_000_000
RETENTION_US = 35 * DAY_US
TERMS = VersionTerms("v1", "s1", {"li": LineItemTerms("li", "c", "a", frozenset({"cr"}), 1, 5, 0, 0)})


async def test_versions_with_the_same_terms_share_one_record(store: SqlCloudStore) -> None:
    """Two versions with the same terms are both found, with their own version and store."""
    await store.terms.record_sent("s1", "v1", encode_terms(TERMS), [], 1_000)
    await store.terms.record_sent("s1", "v2", encode_terms(TERMS), [], 2_000)
    records = await store.terms.charge_records("s1", [], ["v1", "v2"])
    assert records.terms["v2"] == VersionTerms("v2", "s1", TERMS.line_items)
    assert records.terms["v1"] == TERMS


async def test_a_sent_version_is_found_with_its_terms(store: SqlCloudStore) -> None:
    """A version recorded as sent to a store comes back with when it was first sent and its terms."""
    await store.terms.record_sent("s1", "v1", encode_terms(TERMS), ["a" * 64], 1_000)
    await store.terms.record_sent("s1", "v1", encode_terms(TERMS), ["a" * 64], 2_000)
    records = await store.terms.charge_records("s1", [], ["v1"])
    assert records.sent_us == {"v1": 1_000}
    assert records.terms == {"v1": TERMS}
    assert await store.terms.referenced_assets("s1", ["a" * 64, "b" * 64]) == {"a" * 64}


async def test_a_version_is_not_sent_to_another_store(store: SqlCloudStore) -> None:
    """Another store never sent the version finds nothing for it, nor its assets."""
    await store.terms.record_sent("s1", "v1", encode_terms(TERMS), ["a" * 64], 1_000)
    records = await store.terms.charge_records("s2", [], ["v1"])
    assert (records.sent_us, records.terms) == ({}, {})
    assert await store.terms.referenced_assets("s2", ["a" * 64]) == set()


async def test_versions_past_retention_are_forgotten(store: SqlCloudStore) -> None:
    """A version last sent longer ago than the retention is no longer on record (so not billable)."""
    await store.terms.record_sent("s1", "v1", encode_terms(TERMS), [], 1_000)
    later = VersionTerms("v2", "s1", {})
    await store.terms.record_sent("s1", "v2", encode_terms(later), [], 1_000 + RETENTION_US + 1)
    await store.terms.forget_sent_before(1_000 + 1)
    records = await store.terms.charge_records("s1", [], ["v1", "v2"])
    assert set(records.sent_us) == {"v2"}


async def test_a_key_id_stays_with_its_first_edge(store: SqlCloudStore) -> None:
    """Registering a taken key id for another edge reports a conflict and keeps the first record."""
    first = await store.signing_keys.register_key("s1", "e1", "00" * 8, b"k" * 32, "tok-1", 10)
    again = await store.signing_keys.register_key("s1", "e1", "00" * 8, b"k" * 32, "tok-1", 20)
    other = await store.signing_keys.register_key("s1", "e2", "00" * 8, b"x" * 32, "tok-2", 30)
    assert (first.conflict, again.conflict, other.conflict) == (False, False, True)
    assert (other.record.edge_id, other.record.key, other.record.create_time_us) == ("e1", b"k" * 32, 10)


async def test_revocation_keeps_its_first_time(store: SqlCloudStore) -> None:
    """Revoking twice keeps the first revocation time; an unknown key is None."""
    await store.signing_keys.register_key("s1", "e1", "00" * 8, b"k" * 32, "tok-1", 10)
    assert (await store.signing_keys.revoke_key("00" * 8, 100)).revoke_time_us == 100  # type: ignore[union-attr]
    assert (await store.signing_keys.revoke_key("00" * 8, 200)).revoke_time_us == 100  # type: ignore[union-attr]
    assert await store.signing_keys.revoke_key("11" * 8, 100) is None
