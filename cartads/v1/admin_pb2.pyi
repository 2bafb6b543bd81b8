import datetime

from cartads.v1 import asset_pb2 as _asset_pb2
from cartads.v1 import common_pb2 as _common_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVING_STATE_UNSPECIFIED: _ClassVar[ServingState]
    SERVING_STATE_ACTIVE: _ClassVar[ServingState]
    SERVING_STATE_PAUSED: _ClassVar[ServingState]

class PacingType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PACING_TYPE_UNSPECIFIED: _ClassVar[PacingType]
    PACING_TYPE_EVEN: _ClassVar[PacingType]
    PACING_TYPE_ASAP: _ClassVar[PacingType]

class CreativeReviewStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREATIVE_REVIEW_STATUS_UNSPECIFIED: _ClassVar[CreativeReviewStatus]
    CREATIVE_REVIEW_STATUS_PENDING: _ClassVar[CreativeReviewStatus]
    CREATIVE_REVIEW_STATUS_APPROVED: _ClassVar[CreativeReviewStatus]
    CREATIVE_REVIEW_STATUS_REJECTED: _ClassVar[CreativeReviewStatus]

class DeadLetterReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEAD_LETTER_REASON_UNSPECIFIED: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_MALFORMED: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_TOKEN_SIGNATURE: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_UNKNOWN_SIGNING_KEY: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_REVOKED_SIGNING_KEY: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_FOREIGN_STORE: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_VERSION_NOT_SENT: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_LINE_ITEM_NOT_IN_VERSION: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_CREATIVE_NOT_IN_LINE_ITEM: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_OWNER_MISMATCH: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_PRICE_ABOVE_TERMS: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_OUTSIDE_FLIGHT: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_LEGACY_TOKEN: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_INGEST_FAILURE: _ClassVar[DeadLetterReason]
    DEAD_LETTER_REASON_TOKEN_MISMATCH: _ClassVar[DeadLetterReason]

class ApiTokenRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    API_TOKEN_ROLE_UNSPECIFIED: _ClassVar[ApiTokenRole]
    API_TOKEN_ROLE_ADMIN: _ClassVar[ApiTokenRole]
    API_TOKEN_ROLE_ADVERTISER: _ClassVar[ApiTokenRole]
    API_TOKEN_ROLE_VIEWER: _ClassVar[ApiTokenRole]
    API_TOKEN_ROLE_EDGE: _ClassVar[ApiTokenRole]

class ReportDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_DIMENSION_UNSPECIFIED: _ClassVar[ReportDimension]
    REPORT_DIMENSION_CAMPAIGN: _ClassVar[ReportDimension]
    REPORT_DIMENSION_LINE_ITEM: _ClassVar[ReportDimension]
    REPORT_DIMENSION_CREATIVE: _ClassVar[ReportDimension]
    REPORT_DIMENSION_STORE: _ClassVar[ReportDimension]
    REPORT_DIMENSION_DAY: _ClassVar[ReportDimension]
    REPORT_DIMENSION_HOUR: _ClassVar[ReportDimension]
    REPORT_DIMENSION_EXPERIMENT_ARM: _ClassVar[ReportDimension]
    REPORT_DIMENSION_INVALID_TRAFFIC_RULE: _ClassVar[ReportDimension]

class ReportExportState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_EXPORT_STATE_UNSPECIFIED: _ClassVar[ReportExportState]
    REPORT_EXPORT_STATE_PENDING: _ClassVar[ReportExportState]
    REPORT_EXPORT_STATE_RUNNING: _ClassVar[ReportExportState]
    REPORT_EXPORT_STATE_SUCCEEDED: _ClassVar[ReportExportState]
    REPORT_EXPORT_STATE_FAILED: _ClassVar[ReportExportState]
SERVING_STATE_UNSPECIFIED: ServingState
SERVING_STATE_ACTIVE: ServingState
SERVING_STATE_PAUSED: ServingState
PACING_TYPE_UNSPECIFIED: PacingType
PACING_TYPE_EVEN: PacingType
PACING_TYPE_ASAP: PacingType
CREATIVE_REVIEW_STATUS_UNSPECIFIED: CreativeReviewStatus
CREATIVE_REVIEW_STATUS_PENDING: CreativeReviewStatus
CREATIVE_REVIEW_STATUS_APPROVED: CreativeReviewStatus
CREATIVE_REVIEW_STATUS_REJECTED: CreativeReviewStatus
DEAD_LETTER_REASON_UNSPECIFIED: DeadLetterReason
DEAD_LETTER_REASON_MALFORMED: DeadLetterReason
DEAD_LETTER_REASON_TOKEN_SIGNATURE: DeadLetterReason
DEAD_LETTER_REASON_UNKNOWN_SIGNING_KEY: DeadLetterReason
DEAD_LETTER_REASON_REVOKED_SIGNING_KEY: DeadLetterReason
DEAD_LETTER_REASON_FOREIGN_STORE: DeadLetterReason
DEAD_LETTER_REASON_VERSION_NOT_SENT: DeadLetterReason
DEAD_LETTER_REASON_LINE_ITEM_NOT_IN_VERSION: DeadLetterReason
DEAD_LETTER_REASON_CREATIVE_NOT_IN_LINE_ITEM: DeadLetterReason
DEAD_LETTER_REASON_OWNER_MISMATCH: DeadLetterReason
DEAD_LETTER_REASON_PRICE_ABOVE_TERMS: DeadLetterReason
DEAD_LETTER_REASON_OUTSIDE_FLIGHT: DeadLetterReason
DEAD_LETTER_REASON_LEGACY_TOKEN: DeadLetterReason
DEAD_LETTER_REASON_INGEST_FAILURE: DeadLetterReason
DEAD_LETTER_REASON_TOKEN_MISMATCH: DeadLetterReason
API_TOKEN_ROLE_UNSPECIFIED: ApiTokenRole
API_TOKEN_ROLE_ADMIN: ApiTokenRole
API_TOKEN_ROLE_ADVERTISER: ApiTokenRole
API_TOKEN_ROLE_VIEWER: ApiTokenRole
API_TOKEN_ROLE_EDGE: ApiTokenRole
REPORT_DIMENSION_UNSPECIFIED: ReportDimension
REPORT_DIMENSION_CAMPAIGN: ReportDimension
REPORT_DIMENSION_LINE_ITEM: ReportDimension
REPORT_DIMENSION_CREATIVE: ReportDimension
REPORT_DIMENSION_STORE: ReportDimension
REPORT_DIMENSION_DAY: ReportDimension
REPORT_DIMENSION_HOUR: ReportDimension
REPORT_DIMENSION_EXPERIMENT_ARM: ReportDimension
REPORT_DIMENSION_INVALID_TRAFFIC_RULE: ReportDimension
REPORT_EXPORT_STATE_UNSPECIFIED: ReportExportState
REPORT_EXPORT_STATE_PENDING: ReportExportState
REPORT_EXPORT_STATE_RUNNING: ReportExportState
REPORT_EXPORT_STATE_SUCCEEDED: ReportExportState
REPORT_EXPORT_STATE_FAILED: ReportExportState

class Advertiser(_message.Message):
    __slots__ = ("advertiser_id", "display_name", "create_time")
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, advertiser_id: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Campaign(_message.Message):
    __slots__ = ("campaign_id", "advertiser_id", "display_name", "start_time", "end_time", "budget_micros", "state", "create_time", "frequency_cap_per_session", "click_through_window_s", "view_through_window_s")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MICROS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAP_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    CLICK_THROUGH_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    VIEW_THROUGH_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    advertiser_id: str
    display_name: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    budget_micros: int
    state: ServingState
    create_time: _timestamp_pb2.Timestamp
    frequency_cap_per_session: int
    click_through_window_s: int
    view_through_window_s: int
    def __init__(self, campaign_id: _Optional[str] = ..., advertiser_id: _Optional[str] = ..., display_name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., budget_micros: _Optional[int] = ..., state: _Optional[_Union[ServingState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., frequency_cap_per_session: _Optional[int] = ..., click_through_window_s: _Optional[int] = ..., view_through_window_s: _Optional[int] = ...) -> None: ...

class Targeting(_message.Message):
    __slots__ = ("product_ids", "brands", "aisle_ids", "department_ids", "zone_ids", "triggers", "store_ids", "daypart_hours", "daypart_weekdays")
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    AISLE_IDS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    ZONE_IDS_FIELD_NUMBER: _ClassVar[int]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    DAYPART_HOURS_FIELD_NUMBER: _ClassVar[int]
    DAYPART_WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    brands: _containers.RepeatedScalarFieldContainer[str]
    aisle_ids: _containers.RepeatedScalarFieldContainer[str]
    department_ids: _containers.RepeatedScalarFieldContainer[str]
    zone_ids: _containers.RepeatedScalarFieldContainer[str]
    triggers: _containers.RepeatedScalarFieldContainer[_common_pb2.Trigger]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    daypart_hours: _containers.RepeatedScalarFieldContainer[int]
    daypart_weekdays: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, product_ids: _Optional[_Iterable[str]] = ..., brands: _Optional[_Iterable[str]] = ..., aisle_ids: _Optional[_Iterable[str]] = ..., department_ids: _Optional[_Iterable[str]] = ..., zone_ids: _Optional[_Iterable[str]] = ..., triggers: _Optional[_Iterable[_Union[_common_pb2.Trigger, str]]] = ..., store_ids: _Optional[_Iterable[str]] = ..., daypart_hours: _Optional[_Iterable[int]] = ..., daypart_weekdays: _Optional[_Iterable[int]] = ...) -> None: ...

class LineItem(_message.Message):
    __slots__ = ("line_item_id", "campaign_id", "display_name", "pricing_model", "bid_micros", "targeting", "creative_ids", "frequency_cap_per_session", "state", "create_time", "priority_tier", "creative_frequency_cap_per_session", "exclusion_label", "pacing_type", "daily_budget_micros")
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    BID_MICROS_FIELD_NUMBER: _ClassVar[int]
    TARGETING_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_IDS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAP_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_TIER_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_FREQUENCY_CAP_PER_SESSION_FIELD_NUMBER: _ClassVar[int]
    EXCLUSION_LABEL_FIELD_NUMBER: _ClassVar[int]
    PACING_TYPE_FIELD_NUMBER: _ClassVar[int]
    DAILY_BUDGET_MICROS_FIELD_NUMBER: _ClassVar[int]
    line_item_id: str
    campaign_id: str
    display_name: str
    pricing_model: _common_pb2.PricingModel
    bid_micros: int
    targeting: Targeting
    creative_ids: _containers.RepeatedScalarFieldContainer[str]
    frequency_cap_per_session: int
    state: ServingState
    create_time: _timestamp_pb2.Timestamp
    priority_tier: _common_pb2.PriorityTier
    creative_frequency_cap_per_session: int
    exclusion_label: str
    pacing_type: PacingType
    daily_budget_micros: int
    def __init__(self, line_item_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., display_name: _Optional[str] = ..., pricing_model: _Optional[_Union[_common_pb2.PricingModel, str]] = ..., bid_micros: _Optional[int] = ..., targeting: _Optional[_Union[Targeting, _Mapping]] = ..., creative_ids: _Optional[_Iterable[str]] = ..., frequency_cap_per_session: _Optional[int] = ..., state: _Optional[_Union[ServingState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., priority_tier: _Optional[_Union[_common_pb2.PriorityTier, str]] = ..., creative_frequency_cap_per_session: _Optional[int] = ..., exclusion_label: _Optional[str] = ..., pacing_type: _Optional[_Union[PacingType, str]] = ..., daily_budget_micros: _Optional[int] = ...) -> None: ...

class CreativeSpec(_message.Message):
    __slots__ = ("creative_id", "advertiser_id", "display_name", "format", "headline", "body", "image_url", "promoted_product_id", "call_to_action", "offer_text", "coupon_code", "create_time", "image_asset_sha256", "recipe_product_ids", "review_status", "review_reason", "review_time", "reviewed_by")
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    HEADLINE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_TO_ACTION_FIELD_NUMBER: _ClassVar[int]
    OFFER_TEXT_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ASSET_SHA256_FIELD_NUMBER: _ClassVar[int]
    RECIPE_PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_STATUS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_REASON_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TIME_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_BY_FIELD_NUMBER: _ClassVar[int]
    creative_id: str
    advertiser_id: str
    display_name: str
    format: _common_pb2.CreativeFormat
    headline: str
    body: str
    image_url: str
    promoted_product_id: str
    call_to_action: str
    offer_text: str
    coupon_code: str
    create_time: _timestamp_pb2.Timestamp
    image_asset_sha256: str
    recipe_product_ids: _containers.RepeatedScalarFieldContainer[str]
    review_status: CreativeReviewStatus
    review_reason: str
    review_time: _timestamp_pb2.Timestamp
    reviewed_by: str
    def __init__(self, creative_id: _Optional[str] = ..., advertiser_id: _Optional[str] = ..., display_name: _Optional[str] = ..., format: _Optional[_Union[_common_pb2.CreativeFormat, str]] = ..., headline: _Optional[str] = ..., body: _Optional[str] = ..., image_url: _Optional[str] = ..., promoted_product_id: _Optional[str] = ..., call_to_action: _Optional[str] = ..., offer_text: _Optional[str] = ..., coupon_code: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., image_asset_sha256: _Optional[str] = ..., recipe_product_ids: _Optional[_Iterable[str]] = ..., review_status: _Optional[_Union[CreativeReviewStatus, str]] = ..., review_reason: _Optional[str] = ..., review_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reviewed_by: _Optional[str] = ...) -> None: ...

class ApproveCreativeRequest(_message.Message):
    __slots__ = ("creative_id",)
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    creative_id: str
    def __init__(self, creative_id: _Optional[str] = ...) -> None: ...

class ApproveCreativeResponse(_message.Message):
    __slots__ = ("creative",)
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ...) -> None: ...

class RejectCreativeRequest(_message.Message):
    __slots__ = ("creative_id", "reason")
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    creative_id: str
    reason: str
    def __init__(self, creative_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectCreativeResponse(_message.Message):
    __slots__ = ("creative",)
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("audit_entry_id", "time", "actor_token_id", "actor_display_name", "actor_role", "method", "resource_type", "resource_id", "changes")
    AUDIT_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    audit_entry_id: str
    time: _timestamp_pb2.Timestamp
    actor_token_id: str
    actor_display_name: str
    actor_role: str
    method: str
    resource_type: str
    resource_id: str
    changes: _containers.RepeatedCompositeFieldContainer[AuditFieldChange]
    def __init__(self, audit_entry_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor_token_id: _Optional[str] = ..., actor_display_name: _Optional[str] = ..., actor_role: _Optional[str] = ..., method: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[AuditFieldChange, _Mapping]]] = ...) -> None: ...

class AuditFieldChange(_message.Message):
    __slots__ = ("field", "before", "after")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    field: str
    before: str
    after: str
    def __init__(self, field: _Optional[str] = ..., before: _Optional[str] = ..., after: _Optional[str] = ...) -> None: ...

class ListAuditEntriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "resource_type", "resource_id", "actor_token_id", "since_time")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    resource_type: str
    resource_id: str
    actor_token_id: str
    since_time: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., resource_type: _Optional[str] = ..., resource_id: _Optional[str] = ..., actor_token_id: _Optional[str] = ..., since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAuditEntriesResponse(_message.Message):
    __slots__ = ("audit_entries", "next_page_token")
    AUDIT_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audit_entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, audit_entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Store(_message.Message):
    __slots__ = ("store_id", "display_name", "time_zone", "create_time")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    display_name: str
    time_zone: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, store_id: _Optional[str] = ..., display_name: _Optional[str] = ..., time_zone: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Aisle(_message.Message):
    __slots__ = ("aisle_id", "display_name", "zone_id")
    AISLE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    aisle_id: str
    display_name: str
    zone_id: str
    def __init__(self, aisle_id: _Optional[str] = ..., display_name: _Optional[str] = ..., zone_id: _Optional[str] = ...) -> None: ...

class Department(_message.Message):
    __slots__ = ("department_id", "display_name")
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    department_id: str
    display_name: str
    def __init__(self, department_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("product_id", "display_name", "aisle_id", "department_id", "brand", "price_micros")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    AISLE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    PRICE_MICROS_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    display_name: str
    aisle_id: str
    department_id: str
    brand: str
    price_micros: int
    def __init__(self, product_id: _Optional[str] = ..., display_name: _Optional[str] = ..., aisle_id: _Optional[str] = ..., department_id: _Optional[str] = ..., brand: _Optional[str] = ..., price_micros: _Optional[int] = ...) -> None: ...

class CreateAdvertiserRequest(_message.Message):
    __slots__ = ("advertiser", "advertiser_id")
    ADVERTISER_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    advertiser: Advertiser
    advertiser_id: str
    def __init__(self, advertiser: _Optional[_Union[Advertiser, _Mapping]] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class CreateAdvertiserResponse(_message.Message):
    __slots__ = ("advertiser",)
    ADVERTISER_FIELD_NUMBER: _ClassVar[int]
    advertiser: Advertiser
    def __init__(self, advertiser: _Optional[_Union[Advertiser, _Mapping]] = ...) -> None: ...

class GetAdvertiserRequest(_message.Message):
    __slots__ = ("advertiser_id",)
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: str
    def __init__(self, advertiser_id: _Optional[str] = ...) -> None: ...

class GetAdvertiserResponse(_message.Message):
    __slots__ = ("advertiser",)
    ADVERTISER_FIELD_NUMBER: _ClassVar[int]
    advertiser: Advertiser
    def __init__(self, advertiser: _Optional[_Union[Advertiser, _Mapping]] = ...) -> None: ...

class ListAdvertisersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAdvertisersResponse(_message.Message):
    __slots__ = ("advertisers", "next_page_token")
    ADVERTISERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    advertisers: _containers.RepeatedCompositeFieldContainer[Advertiser]
    next_page_token: str
    def __init__(self, advertisers: _Optional[_Iterable[_Union[Advertiser, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAdvertiserRequest(_message.Message):
    __slots__ = ("advertiser", "update_mask")
    ADVERTISER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    advertiser: Advertiser
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, advertiser: _Optional[_Union[Advertiser, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateAdvertiserResponse(_message.Message):
    __slots__ = ("advertiser",)
    ADVERTISER_FIELD_NUMBER: _ClassVar[int]
    advertiser: Advertiser
    def __init__(self, advertiser: _Optional[_Union[Advertiser, _Mapping]] = ...) -> None: ...

class DeleteAdvertiserRequest(_message.Message):
    __slots__ = ("advertiser_id",)
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    advertiser_id: str
    def __init__(self, advertiser_id: _Optional[str] = ...) -> None: ...

class DeleteAdvertiserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateCampaignRequest(_message.Message):
    __slots__ = ("campaign", "campaign_id")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    campaign_id: str
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., campaign_id: _Optional[str] = ...) -> None: ...

class CreateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class GetCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class ListCampaignsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "advertiser_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    advertiser_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class ListCampaignsResponse(_message.Message):
    __slots__ = ("campaigns", "next_page_token")
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[Campaign]
    next_page_token: str
    def __init__(self, campaigns: _Optional[_Iterable[_Union[Campaign, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateCampaignRequest(_message.Message):
    __slots__ = ("campaign", "update_mask")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class DeleteCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class DeleteCampaignResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateLineItemRequest(_message.Message):
    __slots__ = ("line_item", "line_item_id")
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    line_item_id: str
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ..., line_item_id: _Optional[str] = ...) -> None: ...

class CreateLineItemResponse(_message.Message):
    __slots__ = ("line_item",)
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ...) -> None: ...

class GetLineItemRequest(_message.Message):
    __slots__ = ("line_item_id",)
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    line_item_id: str
    def __init__(self, line_item_id: _Optional[str] = ...) -> None: ...

class GetLineItemResponse(_message.Message):
    __slots__ = ("line_item",)
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ...) -> None: ...

class ListLineItemsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "campaign_id", "advertiser_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    campaign_id: str
    advertiser_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., campaign_id: _Optional[str] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class ListLineItemsResponse(_message.Message):
    __slots__ = ("line_items", "next_page_token")
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    line_items: _containers.RepeatedCompositeFieldContainer[LineItem]
    next_page_token: str
    def __init__(self, line_items: _Optional[_Iterable[_Union[LineItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateLineItemRequest(_message.Message):
    __slots__ = ("line_item", "update_mask")
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateLineItemResponse(_message.Message):
    __slots__ = ("line_item",)
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ...) -> None: ...

class DeleteLineItemRequest(_message.Message):
    __slots__ = ("line_item_id",)
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    line_item_id: str
    def __init__(self, line_item_id: _Optional[str] = ...) -> None: ...

class DeleteLineItemResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateCreativeRequest(_message.Message):
    __slots__ = ("creative", "creative_id")
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    creative_id: str
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ..., creative_id: _Optional[str] = ...) -> None: ...

class CreateCreativeResponse(_message.Message):
    __slots__ = ("creative",)
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ...) -> None: ...

class GetCreativeRequest(_message.Message):
    __slots__ = ("creative_id",)
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    creative_id: str
    def __init__(self, creative_id: _Optional[str] = ...) -> None: ...

class GetCreativeResponse(_message.Message):
    __slots__ = ("creative",)
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ...) -> None: ...

class ListCreativesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "advertiser_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    advertiser_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class ListCreativesResponse(_message.Message):
    __slots__ = ("creatives", "next_page_token")
    CREATIVES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    creatives: _containers.RepeatedCompositeFieldContainer[CreativeSpec]
    next_page_token: str
    def __init__(self, creatives: _Optional[_Iterable[_Union[CreativeSpec, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateCreativeRequest(_message.Message):
    __slots__ = ("creative", "update_mask")
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCreativeResponse(_message.Message):
    __slots__ = ("creative",)
    CREATIVE_FIELD_NUMBER: _ClassVar[int]
    creative: CreativeSpec
    def __init__(self, creative: _Optional[_Union[CreativeSpec, _Mapping]] = ...) -> None: ...

class DeleteCreativeRequest(_message.Message):
    __slots__ = ("creative_id",)
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    creative_id: str
    def __init__(self, creative_id: _Optional[str] = ...) -> None: ...

class DeleteCreativeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateStoreRequest(_message.Message):
    __slots__ = ("store", "store_id")
    STORE_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store: Store
    store_id: str
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ..., store_id: _Optional[str] = ...) -> None: ...

class CreateStoreResponse(_message.Message):
    __slots__ = ("store",)
    STORE_FIELD_NUMBER: _ClassVar[int]
    store: Store
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ...) -> None: ...

class GetStoreRequest(_message.Message):
    __slots__ = ("store_id",)
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    def __init__(self, store_id: _Optional[str] = ...) -> None: ...

class GetStoreResponse(_message.Message):
    __slots__ = ("store",)
    STORE_FIELD_NUMBER: _ClassVar[int]
    store: Store
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ...) -> None: ...

class ListStoresRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStoresResponse(_message.Message):
    __slots__ = ("stores", "next_page_token")
    STORES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    stores: _containers.RepeatedCompositeFieldContainer[Store]
    next_page_token: str
    def __init__(self, stores: _Optional[_Iterable[_Union[Store, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateStoreRequest(_message.Message):
    __slots__ = ("store", "update_mask")
    STORE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    store: Store
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateStoreResponse(_message.Message):
    __slots__ = ("store",)
    STORE_FIELD_NUMBER: _ClassVar[int]
    store: Store
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ...) -> None: ...

class DeleteStoreRequest(_message.Message):
    __slots__ = ("store_id",)
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    def __init__(self, store_id: _Optional[str] = ...) -> None: ...

class DeleteStoreResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ImportCatalogRequest(_message.Message):
    __slots__ = ("store_id", "aisles", "departments", "products")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    AISLES_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    aisles: _containers.RepeatedCompositeFieldContainer[Aisle]
    departments: _containers.RepeatedCompositeFieldContainer[Department]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, store_id: _Optional[str] = ..., aisles: _Optional[_Iterable[_Union[Aisle, _Mapping]]] = ..., departments: _Optional[_Iterable[_Union[Department, _Mapping]]] = ..., products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ...) -> None: ...

class ImportCatalogResponse(_message.Message):
    __slots__ = ("aisle_count", "department_count", "product_count")
    AISLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_COUNT_FIELD_NUMBER: _ClassVar[int]
    aisle_count: int
    department_count: int
    product_count: int
    def __init__(self, aisle_count: _Optional[int] = ..., department_count: _Optional[int] = ..., product_count: _Optional[int] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("store_id", "page_size", "page_token")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    page_size: int
    page_token: str
    def __init__(self, store_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAislesRequest(_message.Message):
    __slots__ = ("store_id", "page_size", "page_token")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    page_size: int
    page_token: str
    def __init__(self, store_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAislesResponse(_message.Message):
    __slots__ = ("aisles", "next_page_token")
    AISLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    aisles: _containers.RepeatedCompositeFieldContainer[Aisle]
    next_page_token: str
    def __init__(self, aisles: _Optional[_Iterable[_Union[Aisle, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSpendReportRequest(_message.Message):
    __slots__ = ("store_id", "advertiser_id")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    advertiser_id: str
    def __init__(self, store_id: _Optional[str] = ..., advertiser_id: _Optional[str] = ...) -> None: ...

class CampaignSpend(_message.Message):
    __slots__ = ("campaign_id", "advertiser_id", "display_name", "impressions", "clicks", "spend_micros", "budget_micros", "conversions", "invalid_events", "invalid_traffic_rate", "over_delivery_micros")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    SPEND_MICROS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_MICROS_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    INVALID_EVENTS_FIELD_NUMBER: _ClassVar[int]
    INVALID_TRAFFIC_RATE_FIELD_NUMBER: _ClassVar[int]
    OVER_DELIVERY_MICROS_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    advertiser_id: str
    display_name: str
    impressions: int
    clicks: int
    spend_micros: int
    budget_micros: int
    conversions: int
    invalid_events: int
    invalid_traffic_rate: float
    over_delivery_micros: int
    def __init__(self, campaign_id: _Optional[str] = ..., advertiser_id: _Optional[str] = ..., display_name: _Optional[str] = ..., impressions: _Optional[int] = ..., clicks: _Optional[int] = ..., spend_micros: _Optional[int] = ..., budget_micros: _Optional[int] = ..., conversions: _Optional[int] = ..., invalid_events: _Optional[int] = ..., invalid_traffic_rate: _Optional[float] = ..., over_delivery_micros: _Optional[int] = ...) -> None: ...

class GetSpendReportResponse(_message.Message):
    __slots__ = ("campaigns", "total_spend_micros", "billed_event_count")
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_MICROS_FIELD_NUMBER: _ClassVar[int]
    BILLED_EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[CampaignSpend]
    total_spend_micros: int
    billed_event_count: int
    def __init__(self, campaigns: _Optional[_Iterable[_Union[CampaignSpend, _Mapping]]] = ..., total_spend_micros: _Optional[int] = ..., billed_event_count: _Optional[int] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("store_id", "page_size", "page_token", "edge_id", "reason_code")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    page_size: int
    page_token: str
    edge_id: str
    reason_code: DeadLetterReason
    def __init__(self, store_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., edge_id: _Optional[str] = ..., reason_code: _Optional[_Union[DeadLetterReason, str]] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("store_id", "edge_id", "seq", "event_id", "reason", "event_type", "create_time", "reason_code", "signing_key_id", "claimed_charge_micros")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_CHARGE_MICROS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    edge_id: str
    seq: int
    event_id: str
    reason: str
    event_type: _common_pb2.EventType
    create_time: _timestamp_pb2.Timestamp
    reason_code: DeadLetterReason
    signing_key_id: str
    claimed_charge_micros: int
    def __init__(self, store_id: _Optional[str] = ..., edge_id: _Optional[str] = ..., seq: _Optional[int] = ..., event_id: _Optional[str] = ..., reason: _Optional[str] = ..., event_type: _Optional[_Union[_common_pb2.EventType, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason_code: _Optional[_Union[DeadLetterReason, str]] = ..., signing_key_id: _Optional[str] = ..., claimed_charge_micros: _Optional[int] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("dead_letters", "next_page_token")
    DEAD_LETTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dead_letters: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    next_page_token: str
    def __init__(self, dead_letters: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CountCartEventsRequest(_message.Message):
    __slots__ = ("store_id", "cart_ids", "start_time", "end_time")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_IDS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_ids: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, store_id: _Optional[str] = ..., cart_ids: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CartEventCount(_message.Message):
    __slots__ = ("cart_id", "event_type", "received", "billed", "invalid", "rejected", "duplicate_decisions", "recorded", "over_budget")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BILLED_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    OVER_BUDGET_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    event_type: _common_pb2.EventType
    received: int
    billed: int
    invalid: int
    rejected: int
    duplicate_decisions: int
    recorded: int
    over_budget: int
    def __init__(self, cart_id: _Optional[str] = ..., event_type: _Optional[_Union[_common_pb2.EventType, str]] = ..., received: _Optional[int] = ..., billed: _Optional[int] = ..., invalid: _Optional[int] = ..., rejected: _Optional[int] = ..., duplicate_decisions: _Optional[int] = ..., recorded: _Optional[int] = ..., over_budget: _Optional[int] = ...) -> None: ...

class CountCartEventsResponse(_message.Message):
    __slots__ = ("counts",)
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[CartEventCount]
    def __init__(self, counts: _Optional[_Iterable[_Union[CartEventCount, _Mapping]]] = ...) -> None: ...

class ListEdgesRequest(_message.Message):
    __slots__ = ("store_id", "page_size", "page_token")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    page_size: int
    page_token: str
    def __init__(self, store_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEdgesResponse(_message.Message):
    __slots__ = ("edges", "next_page_token")
    EDGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    edges: _containers.RepeatedCompositeFieldContainer[EdgeStatus]
    next_page_token: str
    def __init__(self, edges: _Optional[_Iterable[_Union[EdgeStatus, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class EdgeStatus(_message.Message):
    __slots__ = ("store_id", "edge_id", "applied_version", "current_version", "connected", "last_answer", "last_nonce", "last_ack_time", "last_nack_time", "last_error", "last_nack_version", "last_seen_time", "flagged", "flag_reason", "flag_time", "flag_count", "ivt_disagreements", "signing_keys")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    LAST_ANSWER_FIELD_NUMBER: _ClassVar[int]
    LAST_NONCE_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_NACK_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_NACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    FLAG_REASON_FIELD_NUMBER: _ClassVar[int]
    FLAG_TIME_FIELD_NUMBER: _ClassVar[int]
    FLAG_COUNT_FIELD_NUMBER: _ClassVar[int]
    IVT_DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    edge_id: str
    applied_version: str
    current_version: str
    connected: bool
    last_answer: str
    last_nonce: str
    last_ack_time: _timestamp_pb2.Timestamp
    last_nack_time: _timestamp_pb2.Timestamp
    last_error: str
    last_nack_version: str
    last_seen_time: _timestamp_pb2.Timestamp
    flagged: bool
    flag_reason: str
    flag_time: _timestamp_pb2.Timestamp
    flag_count: int
    ivt_disagreements: int
    signing_keys: _containers.RepeatedCompositeFieldContainer[EdgeSigningKeyInfo]
    def __init__(self, store_id: _Optional[str] = ..., edge_id: _Optional[str] = ..., applied_version: _Optional[str] = ..., current_version: _Optional[str] = ..., connected: _Optional[bool] = ..., last_answer: _Optional[str] = ..., last_nonce: _Optional[str] = ..., last_ack_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_nack_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., last_nack_version: _Optional[str] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., flagged: _Optional[bool] = ..., flag_reason: _Optional[str] = ..., flag_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., flag_count: _Optional[int] = ..., ivt_disagreements: _Optional[int] = ..., signing_keys: _Optional[_Iterable[_Union[EdgeSigningKeyInfo, _Mapping]]] = ...) -> None: ...

class EdgeSigningKeyInfo(_message.Message):
    __slots__ = ("key_id", "store_id", "edge_id", "registered_by", "create_time", "revoke_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    store_id: str
    edge_id: str
    registered_by: str
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., store_id: _Optional[str] = ..., edge_id: _Optional[str] = ..., registered_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Cart(_message.Message):
    __slots__ = ("store_id", "cart_id", "display_name", "traffic_class", "credential_id", "create_time", "revoke_time")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_CLASS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_id: str
    display_name: str
    traffic_class: _common_pb2.CartTrafficClass
    credential_id: str
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, store_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., display_name: _Optional[str] = ..., traffic_class: _Optional[_Union[_common_pb2.CartTrafficClass, str]] = ..., credential_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateCartRequest(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class CreateCartResponse(_message.Message):
    __slots__ = ("cart", "credential")
    CART_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    credential: str
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ..., credential: _Optional[str] = ...) -> None: ...

class GetCartRequest(_message.Message):
    __slots__ = ("store_id", "cart_id")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_id: str
    def __init__(self, store_id: _Optional[str] = ..., cart_id: _Optional[str] = ...) -> None: ...

class GetCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class ListCartsRequest(_message.Message):
    __slots__ = ("store_id", "page_size", "page_token", "show_revoked")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_REVOKED_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    page_size: int
    page_token: str
    show_revoked: bool
    def __init__(self, store_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_revoked: _Optional[bool] = ...) -> None: ...

class ListCartsResponse(_message.Message):
    __slots__ = ("carts", "next_page_token")
    CARTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    carts: _containers.RepeatedCompositeFieldContainer[Cart]
    next_page_token: str
    def __init__(self, carts: _Optional[_Iterable[_Union[Cart, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateCartRequest(_message.Message):
    __slots__ = ("cart", "update_mask")
    CART_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class RevokeCartRequest(_message.Message):
    __slots__ = ("store_id", "cart_id")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    cart_id: str
    def __init__(self, store_id: _Optional[str] = ..., cart_id: _Optional[str] = ...) -> None: ...

class RevokeCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: Cart
    def __init__(self, cart: _Optional[_Union[Cart, _Mapping]] = ...) -> None: ...

class RevokeEdgeSigningKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RevokeEdgeSigningKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: EdgeSigningKeyInfo
    def __init__(self, key: _Optional[_Union[EdgeSigningKeyInfo, _Mapping]] = ...) -> None: ...

class ClearEdgeFlagRequest(_message.Message):
    __slots__ = ("store_id", "edge_id")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    edge_id: str
    def __init__(self, store_id: _Optional[str] = ..., edge_id: _Optional[str] = ...) -> None: ...

class ClearEdgeFlagResponse(_message.Message):
    __slots__ = ("edge",)
    EDGE_FIELD_NUMBER: _ClassVar[int]
    edge: EdgeStatus
    def __init__(self, edge: _Optional[_Union[EdgeStatus, _Mapping]] = ...) -> None: ...

class UploadAssetRequest(_message.Message):
    __slots__ = ("filename", "chunk")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    filename: str
    chunk: bytes
    def __init__(self, filename: _Optional[str] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadAssetResponse(_message.Message):
    __slots__ = ("asset",)
    ASSET_FIELD_NUMBER: _ClassVar[int]
    asset: _asset_pb2.AssetInfo
    def __init__(self, asset: _Optional[_Union[_asset_pb2.AssetInfo, _Mapping]] = ...) -> None: ...

class ApiToken(_message.Message):
    __slots__ = ("token_id", "role", "advertiser_id", "store_id", "display_name", "create_time", "revoke_time")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    role: ApiTokenRole
    advertiser_id: str
    store_id: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, token_id: _Optional[str] = ..., role: _Optional[_Union[ApiTokenRole, str]] = ..., advertiser_id: _Optional[str] = ..., store_id: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateApiTokenRequest(_message.Message):
    __slots__ = ("api_token", "token_id")
    API_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    api_token: ApiToken
    token_id: str
    def __init__(self, api_token: _Optional[_Union[ApiToken, _Mapping]] = ..., token_id: _Optional[str] = ...) -> None: ...

class CreateApiTokenResponse(_message.Message):
    __slots__ = ("api_token", "secret")
    API_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    api_token: ApiToken
    secret: str
    def __init__(self, api_token: _Optional[_Union[ApiToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListApiTokensRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApiTokensResponse(_message.Message):
    __slots__ = ("api_tokens", "next_page_token")
    API_TOKENS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    api_tokens: _containers.RepeatedCompositeFieldContainer[ApiToken]
    next_page_token: str
    def __init__(self, api_tokens: _Optional[_Iterable[_Union[ApiToken, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeApiTokenRequest(_message.Message):
    __slots__ = ("token_id",)
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    def __init__(self, token_id: _Optional[str] = ...) -> None: ...

class RevokeApiTokenResponse(_message.Message):
    __slots__ = ("api_token",)
    API_TOKEN_FIELD_NUMBER: _ClassVar[int]
    api_token: ApiToken
    def __init__(self, api_token: _Optional[_Union[ApiToken, _Mapping]] = ...) -> None: ...

class PauseCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class PauseCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class ResumeCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class ResumeCampaignResponse(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class PauseLineItemRequest(_message.Message):
    __slots__ = ("line_item_id",)
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    line_item_id: str
    def __init__(self, line_item_id: _Optional[str] = ...) -> None: ...

class PauseLineItemResponse(_message.Message):
    __slots__ = ("line_item",)
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ...) -> None: ...

class ResumeLineItemRequest(_message.Message):
    __slots__ = ("line_item_id",)
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    line_item_id: str
    def __init__(self, line_item_id: _Optional[str] = ...) -> None: ...

class ResumeLineItemResponse(_message.Message):
    __slots__ = ("line_item",)
    LINE_ITEM_FIELD_NUMBER: _ClassVar[int]
    line_item: LineItem
    def __init__(self, line_item: _Optional[_Union[LineItem, _Mapping]] = ...) -> None: ...

class ArmOverrides(_message.Message):
    __slots__ = ("reserve_cpm_micros", "click_rate_weight", "max_ads_per_trip")
    RESERVE_CPM_MICROS_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_ADS_PER_TRIP_FIELD_NUMBER: _ClassVar[int]
    reserve_cpm_micros: int
    click_rate_weight: float
    max_ads_per_trip: int
    def __init__(self, reserve_cpm_micros: _Optional[int] = ..., click_rate_weight: _Optional[float] = ..., max_ads_per_trip: _Optional[int] = ...) -> None: ...

class ExperimentArm(_message.Message):
    __slots__ = ("arm_id", "display_name", "traffic_bps", "holdout", "overrides")
    ARM_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_BPS_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    arm_id: str
    display_name: str
    traffic_bps: int
    holdout: bool
    overrides: ArmOverrides
    def __init__(self, arm_id: _Optional[str] = ..., display_name: _Optional[str] = ..., traffic_bps: _Optional[int] = ..., holdout: _Optional[bool] = ..., overrides: _Optional[_Union[ArmOverrides, _Mapping]] = ...) -> None: ...

class ExperimentLayer(_message.Message):
    __slots__ = ("layer_id", "display_name", "salt", "state", "arms", "create_time")
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    layer_id: str
    display_name: str
    salt: str
    state: ServingState
    arms: _containers.RepeatedCompositeFieldContainer[ExperimentArm]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, layer_id: _Optional[str] = ..., display_name: _Optional[str] = ..., salt: _Optional[str] = ..., state: _Optional[_Union[ServingState, str]] = ..., arms: _Optional[_Iterable[_Union[ExperimentArm, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateExperimentLayerRequest(_message.Message):
    __slots__ = ("experiment_layer", "layer_id")
    EXPERIMENT_LAYER_FIELD_NUMBER: _ClassVar[int]
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_layer: ExperimentLayer
    layer_id: str
    def __init__(self, experiment_layer: _Optional[_Union[ExperimentLayer, _Mapping]] = ..., layer_id: _Optional[str] = ...) -> None: ...

class CreateExperimentLayerResponse(_message.Message):
    __slots__ = ("experiment_layer",)
    EXPERIMENT_LAYER_FIELD_NUMBER: _ClassVar[int]
    experiment_layer: ExperimentLayer
    def __init__(self, experiment_layer: _Optional[_Union[ExperimentLayer, _Mapping]] = ...) -> None: ...

class GetExperimentLayerRequest(_message.Message):
    __slots__ = ("layer_id",)
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    layer_id: str
    def __init__(self, layer_id: _Optional[str] = ...) -> None: ...

class GetExperimentLayerResponse(_message.Message):
    __slots__ = ("experiment_layer",)
    EXPERIMENT_LAYER_FIELD_NUMBER: _ClassVar[int]
    experiment_layer: ExperimentLayer
    def __init__(self, experiment_layer: _Optional[_Union[ExperimentLayer, _Mapping]] = ...) -> None: ...

class ListExperimentLayersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExperimentLayersResponse(_message.Message):
    __slots__ = ("experiment_layers", "next_page_token")
    EXPERIMENT_LAYERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_layers: _containers.RepeatedCompositeFieldContainer[ExperimentLayer]
    next_page_token: str
    def __init__(self, experiment_layers: _Optional[_Iterable[_Union[ExperimentLayer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateExperimentLayerRequest(_message.Message):
    __slots__ = ("experiment_layer", "update_mask")
    EXPERIMENT_LAYER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    experiment_layer: ExperimentLayer
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, experiment_layer: _Optional[_Union[ExperimentLayer, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateExperimentLayerResponse(_message.Message):
    __slots__ = ("experiment_layer",)
    EXPERIMENT_LAYER_FIELD_NUMBER: _ClassVar[int]
    experiment_layer: ExperimentLayer
    def __init__(self, experiment_layer: _Optional[_Union[ExperimentLayer, _Mapping]] = ...) -> None: ...

class DeleteExperimentLayerRequest(_message.Message):
    __slots__ = ("layer_id",)
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    layer_id: str
    def __init__(self, layer_id: _Optional[str] = ...) -> None: ...

class DeleteExperimentLayerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunReportRequest(_message.Message):
    __slots__ = ("dimensions", "start_time", "end_time", "advertiser_id", "campaign_ids", "line_item_ids", "creative_ids", "store_ids", "layer_id", "time_zone", "invalid_traffic_rules")
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_IDS_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_IDS_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    INVALID_TRAFFIC_RULES_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.RepeatedScalarFieldContainer[ReportDimension]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    advertiser_id: str
    campaign_ids: _containers.RepeatedScalarFieldContainer[str]
    line_item_ids: _containers.RepeatedScalarFieldContainer[str]
    creative_ids: _containers.RepeatedScalarFieldContainer[str]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    layer_id: str
    time_zone: str
    invalid_traffic_rules: _containers.RepeatedScalarFieldContainer[_common_pb2.InvalidTrafficRule]
    def __init__(self, dimensions: _Optional[_Iterable[_Union[ReportDimension, str]]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., advertiser_id: _Optional[str] = ..., campaign_ids: _Optional[_Iterable[str]] = ..., line_item_ids: _Optional[_Iterable[str]] = ..., creative_ids: _Optional[_Iterable[str]] = ..., store_ids: _Optional[_Iterable[str]] = ..., layer_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., invalid_traffic_rules: _Optional[_Iterable[_Union[_common_pb2.InvalidTrafficRule, str]]] = ...) -> None: ...

class ReportMetrics(_message.Message):
    __slots__ = ("requests", "impressions", "clicks", "conversions", "spend_micros", "ctr", "conversion_rate", "ecpm_micros", "attributed_sales_micros", "roas", "invalid_impressions", "invalid_clicks", "invalid_conversions", "invalid_events", "invalid_traffic_rate", "over_delivery_micros", "over_delivered_events", "plays", "viewability_rate", "click_through_sales_units", "click_through_sales_micros", "view_through_sales_units", "view_through_sales_micros", "halo_sales_units", "halo_sales_micros")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    SPEND_MICROS_FIELD_NUMBER: _ClassVar[int]
    CTR_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    ECPM_MICROS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTED_SALES_MICROS_FIELD_NUMBER: _ClassVar[int]
    ROAS_FIELD_NUMBER: _ClassVar[int]
    INVALID_IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    INVALID_CLICKS_FIELD_NUMBER: _ClassVar[int]
    INVALID_CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    INVALID_EVENTS_FIELD_NUMBER: _ClassVar[int]
    INVALID_TRAFFIC_RATE_FIELD_NUMBER: _ClassVar[int]
    OVER_DELIVERY_MICROS_FIELD_NUMBER: _ClassVar[int]
    OVER_DELIVERED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    PLAYS_FIELD_NUMBER: _ClassVar[int]
    VIEWABILITY_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_THROUGH_SALES_UNITS_FIELD_NUMBER: _ClassVar[int]
    CLICK_THROUGH_SALES_MICROS_FIELD_NUMBER: _ClassVar[int]
    VIEW_THROUGH_SALES_UNITS_FIELD_NUMBER: _ClassVar[int]
    VIEW_THROUGH_SALES_MICROS_FIELD_NUMBER: _ClassVar[int]
    HALO_SALES_UNITS_FIELD_NUMBER: _ClassVar[int]
    HALO_SALES_MICROS_FIELD_NUMBER: _ClassVar[int]
    requests: int
    impressions: int
    clicks: int
    conversions: int
    spend_micros: int
    ctr: float
    conversion_rate: float
    ecpm_micros: int
    attributed_sales_micros: int
    roas: float
    invalid_impressions: int
    invalid_clicks: int
    invalid_conversions: int
    invalid_events: int
    invalid_traffic_rate: float
    over_delivery_micros: int
    over_delivered_events: int
    plays: int
    viewability_rate: float
    click_through_sales_units: int
    click_through_sales_micros: int
    view_through_sales_units: int
    view_through_sales_micros: int
    halo_sales_units: int
    halo_sales_micros: int
    def __init__(self, requests: _Optional[int] = ..., impressions: _Optional[int] = ..., clicks: _Optional[int] = ..., conversions: _Optional[int] = ..., spend_micros: _Optional[int] = ..., ctr: _Optional[float] = ..., conversion_rate: _Optional[float] = ..., ecpm_micros: _Optional[int] = ..., attributed_sales_micros: _Optional[int] = ..., roas: _Optional[float] = ..., invalid_impressions: _Optional[int] = ..., invalid_clicks: _Optional[int] = ..., invalid_conversions: _Optional[int] = ..., invalid_events: _Optional[int] = ..., invalid_traffic_rate: _Optional[float] = ..., over_delivery_micros: _Optional[int] = ..., over_delivered_events: _Optional[int] = ..., plays: _Optional[int] = ..., viewability_rate: _Optional[float] = ..., click_through_sales_units: _Optional[int] = ..., click_through_sales_micros: _Optional[int] = ..., view_through_sales_units: _Optional[int] = ..., view_through_sales_micros: _Optional[int] = ..., halo_sales_units: _Optional[int] = ..., halo_sales_micros: _Optional[int] = ...) -> None: ...

class ReportRow(_message.Message):
    __slots__ = ("campaign_id", "line_item_id", "creative_id", "store_id", "day", "hour_start_time", "layer_id", "arm_id", "metrics", "invalid_traffic_rule")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CREATIVE_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    HOUR_START_TIME_FIELD_NUMBER: _ClassVar[int]
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    ARM_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    INVALID_TRAFFIC_RULE_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    line_item_id: str
    creative_id: str
    store_id: str
    day: str
    hour_start_time: _timestamp_pb2.Timestamp
    layer_id: str
    arm_id: str
    metrics: ReportMetrics
    invalid_traffic_rule: _common_pb2.InvalidTrafficRule
    def __init__(self, campaign_id: _Optional[str] = ..., line_item_id: _Optional[str] = ..., creative_id: _Optional[str] = ..., store_id: _Optional[str] = ..., day: _Optional[str] = ..., hour_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., layer_id: _Optional[str] = ..., arm_id: _Optional[str] = ..., metrics: _Optional[_Union[ReportMetrics, _Mapping]] = ..., invalid_traffic_rule: _Optional[_Union[_common_pb2.InvalidTrafficRule, str]] = ...) -> None: ...

class LiftEstimate(_message.Message):
    __slots__ = ("difference", "ci_low", "ci_high", "standard_error", "relative", "significant")
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    STANDARD_ERROR_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    difference: float
    ci_low: float
    ci_high: float
    standard_error: float
    relative: float
    significant: bool
    def __init__(self, difference: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., standard_error: _Optional[float] = ..., relative: _Optional[float] = ..., significant: _Optional[bool] = ...) -> None: ...

class ArmOutcome(_message.Message):
    __slots__ = ("arm_id", "holdout", "trips", "converting_trips", "sales_micros", "conversion_rate", "sales_per_trip_micros")
    ARM_ID_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_FIELD_NUMBER: _ClassVar[int]
    TRIPS_FIELD_NUMBER: _ClassVar[int]
    CONVERTING_TRIPS_FIELD_NUMBER: _ClassVar[int]
    SALES_MICROS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    SALES_PER_TRIP_MICROS_FIELD_NUMBER: _ClassVar[int]
    arm_id: str
    holdout: bool
    trips: int
    converting_trips: int
    sales_micros: int
    conversion_rate: float
    sales_per_trip_micros: float
    def __init__(self, arm_id: _Optional[str] = ..., holdout: _Optional[bool] = ..., trips: _Optional[int] = ..., converting_trips: _Optional[int] = ..., sales_micros: _Optional[int] = ..., conversion_rate: _Optional[float] = ..., sales_per_trip_micros: _Optional[float] = ...) -> None: ...

class LayerLift(_message.Message):
    __slots__ = ("layer_id", "arms", "conversion_rate_lift", "sales_per_trip_lift")
    LAYER_ID_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_LIFT_FIELD_NUMBER: _ClassVar[int]
    SALES_PER_TRIP_LIFT_FIELD_NUMBER: _ClassVar[int]
    layer_id: str
    arms: _containers.RepeatedCompositeFieldContainer[ArmOutcome]
    conversion_rate_lift: LiftEstimate
    sales_per_trip_lift: LiftEstimate
    def __init__(self, layer_id: _Optional[str] = ..., arms: _Optional[_Iterable[_Union[ArmOutcome, _Mapping]]] = ..., conversion_rate_lift: _Optional[_Union[LiftEstimate, _Mapping]] = ..., sales_per_trip_lift: _Optional[_Union[LiftEstimate, _Mapping]] = ...) -> None: ...

class RunReportResponse(_message.Message):
    __slots__ = ("rows", "totals", "lifts")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    LIFTS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[ReportRow]
    totals: ReportMetrics
    lifts: _containers.RepeatedCompositeFieldContainer[LayerLift]
    def __init__(self, rows: _Optional[_Iterable[_Union[ReportRow, _Mapping]]] = ..., totals: _Optional[_Union[ReportMetrics, _Mapping]] = ..., lifts: _Optional[_Iterable[_Union[LayerLift, _Mapping]]] = ...) -> None: ...

class ReportExport(_message.Message):
    __slots__ = ("export_id", "state", "stores_done", "stores_total", "row_count", "byte_count", "error", "create_time", "update_time", "advertiser_id", "report")
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STORES_DONE_FIELD_NUMBER: _ClassVar[int]
    STORES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    BYTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ADVERTISER_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    state: ReportExportState
    stores_done: int
    stores_total: int
    row_count: int
    byte_count: int
    error: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    advertiser_id: str
    report: RunReportRequest
    def __init__(self, export_id: _Optional[str] = ..., state: _Optional[_Union[ReportExportState, str]] = ..., stores_done: _Optional[int] = ..., stores_total: _Optional[int] = ..., row_count: _Optional[int] = ..., byte_count: _Optional[int] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., advertiser_id: _Optional[str] = ..., report: _Optional[_Union[RunReportRequest, _Mapping]] = ...) -> None: ...

class CreateReportExportRequest(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: RunReportRequest
    def __init__(self, report: _Optional[_Union[RunReportRequest, _Mapping]] = ...) -> None: ...

class CreateReportExportResponse(_message.Message):
    __slots__ = ("export",)
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    export: ReportExport
    def __init__(self, export: _Optional[_Union[ReportExport, _Mapping]] = ...) -> None: ...

class GetReportExportRequest(_message.Message):
    __slots__ = ("export_id",)
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    def __init__(self, export_id: _Optional[str] = ...) -> None: ...

class GetReportExportResponse(_message.Message):
    __slots__ = ("export",)
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    export: ReportExport
    def __init__(self, export: _Optional[_Union[ReportExport, _Mapping]] = ...) -> None: ...

class DownloadReportExportRequest(_message.Message):
    __slots__ = ("export_id",)
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    def __init__(self, export_id: _Optional[str] = ...) -> None: ...

class DownloadReportExportResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class ForecastAvailabilityRequest(_message.Message):
    __slots__ = ("targeting", "start_date", "end_date")
    TARGETING_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    targeting: Targeting
    start_date: str
    end_date: str
    def __init__(self, targeting: _Optional[_Union[Targeting, _Mapping]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class ForecastDay(_message.Message):
    __slots__ = ("store_id", "date", "eligible_requests", "expected_impressions")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    date: str
    eligible_requests: float
    expected_impressions: float
    def __init__(self, store_id: _Optional[str] = ..., date: _Optional[str] = ..., eligible_requests: _Optional[float] = ..., expected_impressions: _Optional[float] = ...) -> None: ...

class ForecastStore(_message.Message):
    __slots__ = ("store_id", "time_zone", "requests_per_day", "impressions_per_request", "days_observed")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    DAYS_OBSERVED_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    time_zone: str
    requests_per_day: float
    impressions_per_request: float
    days_observed: float
    def __init__(self, store_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., requests_per_day: _Optional[float] = ..., impressions_per_request: _Optional[float] = ..., days_observed: _Optional[float] = ...) -> None: ...

class ForecastAvailabilityResponse(_message.Message):
    __slots__ = ("days", "stores", "total_eligible_requests", "total_expected_impressions", "upper_bound")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ELIGIBLE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EXPECTED_IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[ForecastDay]
    stores: _containers.RepeatedCompositeFieldContainer[ForecastStore]
    total_eligible_requests: float
    total_expected_impressions: float
    upper_bound: bool
    def __init__(self, days: _Optional[_Iterable[_Union[ForecastDay, _Mapping]]] = ..., stores: _Optional[_Iterable[_Union[ForecastStore, _Mapping]]] = ..., total_eligible_requests: _Optional[float] = ..., total_expected_impressions: _Optional[float] = ..., upper_bound: _Optional[bool] = ...) -> None: ...

class GetDeliveryStatusRequest(_message.Message):
    __slots__ = ("campaign_id", "line_item_id")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    line_item_id: str
    def __init__(self, campaign_id: _Optional[str] = ..., line_item_id: _Optional[str] = ...) -> None: ...

class StoreDelivery(_message.Message):
    __slots__ = ("store_id", "serving", "spend_today_micros", "plan_today_micros", "planned_by_now_micros", "pacing_rate", "lease_allowance_micros", "lease_expire_time", "lease_spent_micros", "ads_last_hour", "throttled_last_hour", "requests_last_hour", "no_fill_requests_last_hour")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    SPEND_TODAY_MICROS_FIELD_NUMBER: _ClassVar[int]
    PLAN_TODAY_MICROS_FIELD_NUMBER: _ClassVar[int]
    PLANNED_BY_NOW_MICROS_FIELD_NUMBER: _ClassVar[int]
    PACING_RATE_FIELD_NUMBER: _ClassVar[int]
    LEASE_ALLOWANCE_MICROS_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_SPENT_MICROS_FIELD_NUMBER: _ClassVar[int]
    ADS_LAST_HOUR_FIELD_NUMBER: _ClassVar[int]
    THROTTLED_LAST_HOUR_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_LAST_HOUR_FIELD_NUMBER: _ClassVar[int]
    NO_FILL_REQUESTS_LAST_HOUR_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    serving: bool
    spend_today_micros: int
    plan_today_micros: int
    planned_by_now_micros: int
    pacing_rate: float
    lease_allowance_micros: int
    lease_expire_time: _timestamp_pb2.Timestamp
    lease_spent_micros: int
    ads_last_hour: int
    throttled_last_hour: int
    requests_last_hour: int
    no_fill_requests_last_hour: int
    def __init__(self, store_id: _Optional[str] = ..., serving: _Optional[bool] = ..., spend_today_micros: _Optional[int] = ..., plan_today_micros: _Optional[int] = ..., planned_by_now_micros: _Optional[int] = ..., pacing_rate: _Optional[float] = ..., lease_allowance_micros: _Optional[int] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lease_spent_micros: _Optional[int] = ..., ads_last_hour: _Optional[int] = ..., throttled_last_hour: _Optional[int] = ..., requests_last_hour: _Optional[int] = ..., no_fill_requests_last_hour: _Optional[int] = ...) -> None: ...

class DeliveryReason(_message.Message):
    __slots__ = ("code", "store_id", "requests", "text")
    CODE_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    code: str
    store_id: str
    requests: int
    text: str
    def __init__(self, code: _Optional[str] = ..., store_id: _Optional[str] = ..., requests: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class GetDeliveryStatusResponse(_message.Message):
    __slots__ = ("campaign_id", "line_item_id", "state", "spend_today_micros", "plan_today_micros", "planned_by_now_micros", "pacing_rate", "stores", "reasons", "summary", "as_of_time")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SPEND_TODAY_MICROS_FIELD_NUMBER: _ClassVar[int]
    PLAN_TODAY_MICROS_FIELD_NUMBER: _ClassVar[int]
    PLANNED_BY_NOW_MICROS_FIELD_NUMBER: _ClassVar[int]
    PACING_RATE_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    line_item_id: str
    state: str
    spend_today_micros: int
    plan_today_micros: int
    planned_by_now_micros: int
    pacing_rate: float
    stores: _containers.RepeatedCompositeFieldContainer[StoreDelivery]
    reasons: _containers.RepeatedCompositeFieldContainer[DeliveryReason]
    summary: str
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, campaign_id: _Optional[str] = ..., line_item_id: _Optional[str] = ..., state: _Optional[str] = ..., spend_today_micros: _Optional[int] = ..., plan_today_micros: _Optional[int] = ..., planned_by_now_micros: _Optional[int] = ..., pacing_rate: _Optional[float] = ..., stores: _Optional[_Iterable[_Union[StoreDelivery, _Mapping]]] = ..., reasons: _Optional[_Iterable[_Union[DeliveryReason, _Mapping]]] = ..., summary: _Optional[str] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
