"""The project's own errors. Services raise them; each door renders them its own way."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable snake_case codes: clients and chat templates key on these, never rename."""

    # transport
    MALFORMED_JSON = "malformed_json"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    VALIDATION_FAILED = "validation_failed"
    ROUTE_NOT_FOUND = "route_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    RATE_LIMITED = "rate_limited"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    # auth
    UNAUTHENTICATED = "unauthenticated"
    TOKEN_EXPIRED = "token_expired"
    FORBIDDEN = "forbidden"
    WECHAT_CODE_INVALID = "wechat_code_invalid"
    WECHAT_RATE_LIMITED = "wechat_rate_limited"
    WECHAT_USER_BLOCKED = "wechat_user_blocked"
    WECHAT_UNAVAILABLE = "wechat_unavailable"
    # accounts: chat identities linked to mini-program accounts; roles and leaders
    LINK_TOKEN_INVALID = "link_token_invalid"
    LINK_TOKEN_EXPIRED = "link_token_expired"
    LINK_TOKEN_USED = "link_token_used"
    CHAT_IDENTITY_LINKED_ELSEWHERE = "chat_identity_linked_elsewhere"
    ACCOUNT_LINK_CONFLICT = "account_link_conflict"
    LEADER_CODE_INVALID = "leader_code_invalid"
    APPLICATION_NOT_FOUND = "application_not_found"
    APPLICATION_PENDING = "application_pending"
    APPLICATION_DECIDED = "application_decided"
    ALREADY_LEADER = "already_leader"
    OWN_ROLE = "own_role"
    # catalog and communities
    USER_NOT_FOUND = "user_not_found"
    PRODUCT_NOT_FOUND = "product_not_found"
    SKU_NOT_FOUND = "sku_not_found"
    COMMUNITY_NOT_FOUND = "community_not_found"
    INVALID_CURSOR = "invalid_cursor"
    # group buys
    CAMPAIGN_NOT_FOUND = "campaign_not_found"
    DEAL_NUMBER_NEEDED = "deal_number_needed"  # chat: 开团 with several deals running
    CAMPAIGN_NOT_ACTIVE = "campaign_not_active"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_INVALID = "campaign_invalid"
    PRICE_ABOVE_LIST = "price_above_list"  # a deal (group, flash, bargain) dearer than the SKU
    CAMPAIGN_SOLD_OUT = "campaign_sold_out"
    TEAM_NOT_FOUND = "team_not_found"
    TEAM_FULL = "team_full"
    TEAM_CLOSED = "team_closed"
    ALREADY_IN_TEAM = "already_in_team"
    OPEN_TEAM_EXISTS = "open_team_exists"
    USER_LIMIT_REACHED = "user_limit_reached"
    OUT_OF_STOCK = "out_of_stock"
    # orders and payment
    ORDER_NOT_FOUND = "order_not_found"
    ILLEGAL_TRANSITION = "illegal_transition"
    ORDER_AWAITING_TEAM = "order_awaiting_team"  # paid, its team not yet complete: not cancelled
    ORDER_USE_AFTERSALES = "order_use_aftersales"  # paid and its team complete: ask for a refund
    ORDER_CANCELLED = "order_cancelled"  # cancelled unpaid: nothing to cancel or pick up
    # The chat's 取消订单/售后/取货码 N: the person's list changed since it showed N (or they
    # were shown none): N may name another order now, so it is refused.
    ORDER_NUMBERS_CHANGED = "order_numbers_changed"
    ORDER_NOT_PAYABLE = "order_not_payable"
    PAYMENT_PROVIDER_ERROR = "payment_provider_error"
    SIMULATION_DISABLED = "simulation_disabled"
    PAYMENT_MISMATCH = "payment_mismatch"
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
    # catalog and communities (more)
    NOT_COMMUNITY_LEADER = "not_community_leader"
    NOT_COMMUNITY_MEMBER = "not_community_member"
    CHAT_ALREADY_BOUND = "chat_already_bound"
    CHAT_NOT_BOUND = "chat_not_bound"
    # scheduled activities
    ACTIVITY_NOT_FOUND = "activity_not_found"
    ACTIVITY_CANCELLED = "activity_cancelled"
    FLASH_SALE_NOT_FOUND = "flash_sale_not_found"
    FLASH_SALE_NOT_RUNNING = "flash_sale_not_running"
    # growth: shares, attribution, earnings, pickup
    SHARE_CODE_INVALID = "share_code_invalid"
    SHARE_CODE_EXPIRED = "share_code_expired"
    WECHAT_SESSION_EXPIRED = "wechat_session_expired"
    OPEN_DATA_INVALID = "open_data_invalid"
    WXACODE_RATE_LIMITED = "wxacode_rate_limited"
    GROWTH_RULES_INVALID = "growth_rules_invalid"
    PYRAMID_REFUSED = "pyramid_refused"
    PICKUP_CODE_NOT_FOUND = "pickup_code_not_found"
    PICKUP_CODE_USED = "pickup_code_used"
    PICKUP_CODE_NOT_YOURS = "pickup_code_not_yours"
    ORDER_NOT_READY_FOR_PICKUP = "order_not_ready_for_pickup"
    ORDER_REFUNDED_NO_PICKUP = "order_refunded_no_pickup"  # refunded in full: nothing to pick up
    # delivery batches (services/batches.py)
    DELIVERY_PLAN_INVALID = "delivery_plan_invalid"
    DELIVERY_PLAN_NOT_FOUND = "delivery_plan_not_found"
    BATCH_NOT_FOUND = "batch_not_found"
    BATCH_NOT_ARRIVED = "batch_not_arrived"
    NO_BATCH_DISPATCHED = "no_batch_dispatched"
    SHORTAGE_INVALID = "shortage_invalid"
    ADDRESS_NOT_FOUND = "address_not_found"
    HOME_DELIVERY_UNAVAILABLE = "home_delivery_unavailable"
    HOME_DELIVERY_NOT_FOUND = "home_delivery_not_found"
    # suppliers and listing review (services/listings.py)
    SUPPLIER_EXISTS = "supplier_exists"
    SUPPLIER_NOT_FOUND = "supplier_not_found"
    SUPPLIER_NOT_APPROVED = "supplier_not_approved"
    REVIEW_NOT_FOUND = "review_not_found"
    REVIEW_DECIDED = "review_decided"
    REVIEW_REASON_REQUIRED = "review_reason_required"
    # leaders' identity (services/identity.py)
    IDENTITY_NOT_MATCHED = "identity_not_matched"
    IDENTITY_NOT_FOUND = "identity_not_found"
    IDENTITY_PROVIDER_UNAVAILABLE = "identity_provider_unavailable"
    LEADER_NOT_VERIFIED = "leader_not_verified"
    # marketing: coupons, points, the new-user offer (issue 16)
    COUPON_TEMPLATE_NOT_FOUND = "coupon_template_not_found"
    COUPON_TEMPLATE_INVALID = "coupon_template_invalid"
    COUPON_NOT_CLAIMABLE = "coupon_not_claimable"
    COUPONS_GONE = "coupons_gone"
    COUPON_LIMIT_REACHED = "coupon_limit_reached"
    COUPON_ALREADY_GRANTED = "coupon_already_granted"
    COUPON_NOT_FOUND = "coupon_not_found"
    COUPON_NOT_USABLE = "coupon_not_usable"
    NEW_USER_OFFER_USED = "new_user_offer_used"
    POINTS_INSUFFICIENT = "points_insufficient"
    POINTS_OVER_CAP = "points_over_cap"
    ORDER_PRICE_FIXED = "order_price_fixed"
    # operator console
    OUTBOX_MESSAGE_NOT_FOUND = "outbox_message_not_found"
    OUTBOX_MESSAGE_NOT_PARKED = "outbox_message_not_parked"
    # after-sales, group claims, reconciliation
    AFTER_SALE_NOT_FOUND = "after_sale_not_found"
    AFTER_SALE_NOT_ALLOWED = "after_sale_not_allowed"
    AFTER_SALE_WINDOW_CLOSED = "after_sale_window_closed"
    AFTER_SALE_OPEN = "after_sale_open"
    AFTER_SALE_DECIDED = "after_sale_decided"
    OWN_AFTER_SALE = "own_after_sale"
    NO_REASON_RETURN_EXCLUDED = "no_reason_return_excluded"
    ORDER_ALREADY_REFUNDED = "order_already_refunded"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    RETURN_RULE_INVALID = "return_rule_invalid"
    CLAIM_NOT_FOUND = "claim_not_found"
    CLAIM_DECIDED = "claim_decided"
    CLAIM_NO_ORDERS = "claim_no_orders"
    BILL_RUN_NOT_FOUND = "bill_run_not_found"
    BILL_DIFFERENCE_NOT_FOUND = "bill_difference_not_found"
    BILL_DIFFERENCE_RESOLVED = "bill_difference_resolved"
    BILL_DAY_NOT_OVER = "bill_day_not_over"
    # bargains (砍价) and member tiers
    BARGAIN_OFFER_INVALID = "bargain_offer_invalid"
    BARGAIN_OFFER_NOT_FOUND = "bargain_offer_not_found"
    BARGAIN_OFFER_CLOSED = "bargain_offer_closed"
    BARGAIN_NOT_FOUND = "bargain_not_found"
    BARGAIN_NOT_YOURS = "bargain_not_yours"  # someone else's: only its starter buys at its price
    BARGAIN_ALREADY_STARTED = "bargain_already_started"
    BARGAIN_OWN_CUT = "bargain_own_cut"
    BARGAIN_NEW_USERS_ONLY = "bargain_new_users_only"
    BARGAIN_CLOSED = "bargain_closed"
    BARGAIN_FLOOR_REACHED = "bargain_floor_reached"
    BARGAIN_ALREADY_CUT = "bargain_already_cut"
    BARGAIN_ALREADY_ORDERED = "bargain_already_ordered"
    TIER_LADDER_INVALID = "tier_ladder_invalid"
    # community content and its moderation
    CONTENT_REFUSED = "content_refused"
    USER_MUTED = "user_muted"
    WORD_INVALID = "word_invalid"
    WORD_NOT_FOUND = "word_not_found"
    MODERATION_ITEM_NOT_FOUND = "moderation_item_not_found"
    MODERATION_ITEM_DECIDED = "moderation_item_decided"
    REPORT_TARGET_NOT_FOUND = "report_target_not_found"
    ORDER_NOT_PICKED_UP = "order_not_picked_up"
    ORDER_REFUNDED_NO_REVIEW = "order_refunded_no_review"  # refunded in full: closed, no review
    ALREADY_REVIEWED = "already_reviewed"
    POST_NOT_FOUND = "post_not_found"
    COMMENT_NOT_FOUND = "comment_not_found"
    FOLLOW_INVALID = "follow_invalid"
    FOLLOW_NOT_FOUND = "follow_not_found"
    QUESTION_NOT_FOUND = "question_not_found"
    ANSWER_NOT_FOUND = "answer_not_found"
    NOT_A_BUYER = "not_a_buyer"
    # withdrawals (提现) of earnings
    WITHDRAWAL_AMOUNT_INVALID = "withdrawal_amount_invalid"  # not a sum of yuan and fen
    WITHDRAWAL_BELOW_MINIMUM = "withdrawal_below_minimum"  # WeChat Pay pays at least ¥1
    WITHDRAWAL_EXCEEDS_AVAILABLE = "withdrawal_exceeds_available"
    WITHDRAWAL_PENDING = "withdrawal_pending"  # one open withdrawal at a time
    WITHDRAWAL_NEEDS_MINIAPP = "withdrawal_needs_miniapp"  # no openid WeChat Pay can pay
    WITHDRAWAL_NOT_FOUND = "withdrawal_not_found"
    WITHDRAWAL_DECIDED = "withdrawal_decided"
    # people's rights over their data
    ERASURE_ORDERS_OPEN = "erasure_orders_open"
    PERSONAL_DATA_UNREADABLE = "personal_data_unreadable"
    ACCOUNT_ERASED = "account_erased"  # a token of an account erased since it was issued
    ERASURE_REFUSED_ADMIN = "erasure_refused_admin"
    ERASURE_REFUSED_LEADER = "erasure_refused_leader"
    ERASURE_EARNINGS_UNSETTLED = "erasure_earnings_unsettled"  # earnings frozen or unpaid
    EXPORT_LINK_EXPIRED = "export_link_expired"  # 我的数据's link: used, expired or made up
    # segments
    SEGMENT_NOT_FOUND = "segment_not_found"
    SEGMENT_RULE_INVALID = "segment_rule_invalid"
    # mini-program subscribe messages: an id that is none of the shop's templates
    UNKNOWN_SUBSCRIBE_TEMPLATE = "unknown_subscribe_template"
    # a URL's path or query holds a NUL character (no text column can store one)
    URL_HAS_NUL = "url_has_nul"


class QunshopError(Exception):
    status = 400

    def __init__(self, code: ErrorCode, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or code.value)
        self.code = code
        self.detail = detail or code.value.replace("_", " ")
        self.extra = extra


class BadRequest(QunshopError):
    status = 400


class Unauthenticated(QunshopError):
    status = 401


class Forbidden(QunshopError):
    status = 403


class NotFound(QunshopError):
    status = 404


class Conflict(QunshopError):
    status = 409


class Invalid(QunshopError):
    """The request is well-formed but breaks a business rule on its values."""

    status = 422


class RateLimited(QunshopError):
    status = 429


class UpstreamError(QunshopError):
    """A platform we call (WeChat, WeChat Pay) failed or refused."""

    status = 502


class Unavailable(QunshopError):
    status = 503


class StartupError(Exception):
    """A setting or a resource is wrong at start-up; the CLI prints it as one line."""
