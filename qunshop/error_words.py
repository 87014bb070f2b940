"""What a person is told of a refusal, by its stable code: one catalogue for every door.

The pages (web/errors.py) say these words; the chat says them for a code that has no
template of its own (templates/chat/errors/generic.j2, through handlers/dispatcher.py),
while a code's own chat template may say more (the command to send next). A service's
``detail`` is written for the API's callers, in English: never shown to a person unless
it is written in Chinese (``readable``).
"""

from __future__ import annotations

import re

from qunshop.errors import ErrorCode

HAN = re.compile(r"[\u4e00-\u9fff]")  # a detail a person can read is written in Chinese

# Every code has its words (tests/qunshop/test_error_words.py): a new code without fails.
MESSAGES: dict[str, str] = {
    ErrorCode.TEAM_NOT_FOUND: "没有找到这个团，可能链接有误。",
    ErrorCode.CAMPAIGN_NOT_FOUND: "没有找到这个拼团活动。",
    ErrorCode.FLASH_SALE_NOT_FOUND: "没有找到这场秒杀。",
    ErrorCode.PRODUCT_NOT_FOUND: "没有找到这个商品，可能已经下架。",
    ErrorCode.SKU_NOT_FOUND: "没有找到这个商品规格。",
    ErrorCode.COMMUNITY_NOT_FOUND: "没有找到这个社区，或你不是它的团长。",
    ErrorCode.ORDER_NOT_FOUND: "没有找到这个订单。",
    ErrorCode.AFTER_SALE_NOT_FOUND: "没有找到这个售后申请。",
    ErrorCode.REVIEW_NOT_FOUND: "没有找到这条评价或审核记录。",
    ErrorCode.SUPPLIER_NOT_FOUND: "没有找到这个供应商。",
    ErrorCode.CLAIM_NOT_FOUND: "没有找到这份理赔申请。",
    ErrorCode.BILL_DIFFERENCE_NOT_FOUND: "没有找到这条对账差异。",
    ErrorCode.BATCH_NOT_FOUND: "没有找到这个配送批次。",
    ErrorCode.BARGAIN_OFFER_NOT_FOUND: "没有找到这个砍价活动。",
    ErrorCode.BARGAIN_NOT_FOUND: "没有找到这个砍价，可能链接有误。",
    ErrorCode.BARGAIN_OFFER_CLOSED: "这个砍价活动已经结束了。",
    ErrorCode.COUPON_TEMPLATE_NOT_FOUND: "没有找到这个优惠券。",
    ErrorCode.OUTBOX_MESSAGE_NOT_FOUND: "没有找到这条待处理的消息。",
    ErrorCode.MODERATION_ITEM_NOT_FOUND: "没有找到这条待审核的内容。",
    ErrorCode.WORD_NOT_FOUND: "没有这个违禁词。",
    ErrorCode.USER_NOT_FOUND: "没有找到邀请你的人。",
    ErrorCode.SHARE_CODE_INVALID: "这个邀请链接无效。",
    ErrorCode.LINK_TOKEN_INVALID: "这个关联链接无效，请在聊天中重新获取。",
    ErrorCode.LINK_TOKEN_EXPIRED: "这个关联链接已过期（30 分钟内有效），请在聊天中重新获取。",
    ErrorCode.SHARE_CODE_EXPIRED: "这个邀请链接已过期。",
    ErrorCode.UNAUTHENTICATED: "请先登录：在与机器人的私聊中发送「后台」获取登录链接。",
    ErrorCode.TOKEN_EXPIRED: "这个登录链接已经用过或已过期：请在与机器人的私聊中重新发送「后台」。",
    ErrorCode.EXPORT_LINK_EXPIRED: (
        "这个下载链接已经用过或已过期：请在与机器人的私聊中重新发送「我的数据」。"
    ),
    ErrorCode.ACCOUNT_ERASED: "这个账号已经注销。",
    ErrorCode.FORBIDDEN: "你没有权限查看这个页面。",
    ErrorCode.NOT_COMMUNITY_LEADER: "只有本社区的团长可以这样做。",
    ErrorCode.PICKUP_CODE_NOT_FOUND: "没有这个提货码。",
    ErrorCode.PICKUP_CODE_USED: "这个提货码已经核销过了。",
    ErrorCode.PICKUP_CODE_NOT_YOURS: "这个提货码不属于你的社区。",
    ErrorCode.ORDER_NOT_READY_FOR_PICKUP: (  # a code exists once paid: the goods are not here
        "这个订单待到货：货还没到，不能提货。货到后先确认到货，再核销。"
    ),
    ErrorCode.ORDER_REFUNDED_NO_PICKUP: "这个订单已经退款了，没有可以提的货。",
    ErrorCode.ORDER_CANCELLED: "这个订单已经取消了，没有可以提的货。",
    ErrorCode.ORDER_REFUNDED_NO_REVIEW: "这个订单已经全额退款并关闭，不能评价。",
    ErrorCode.ORDER_USE_AFTERSALES: "这个订单已付款，不能取消；想退款请申请售后。",
    ErrorCode.OWN_ROLE: "运营人员不能修改自己的角色。",
    ErrorCode.OWN_AFTER_SALE: "自己的售后申请由运营处理，不能自己审批。",
    ErrorCode.AFTER_SALE_DECIDED: "这个售后申请已经处理过了（别人刚处理，或已超时自动同意）。",
    ErrorCode.REFUND_EXCEEDS_PAID: "这个订单剩下能退的钱不够这次申请（已有别的退款），申请已关闭。",
    ErrorCode.ORDER_ALREADY_REFUNDED: "这个订单已经全额退款，申请已关闭。",
    ErrorCode.APPLICATION_DECIDED: "这份申请已经处理过了。",
    ErrorCode.APPLICATION_NOT_FOUND: "没有找到这份申请。",
    ErrorCode.CAMPAIGN_INVALID: "活动设置有误，请检查后重试。",
    ErrorCode.PRICE_ABOVE_LIST: (
        "活动价不能高于商品原价：拼团价、秒杀价、砍价底价都要不高于商品的标价。"
    ),
    ErrorCode.INVALID_CURSOR: "这个翻页链接无效，请回到第一页重新翻。",
    ErrorCode.REVIEW_REASON_REQUIRED: "驳回时请写明原因。",
    ErrorCode.DELIVERY_PLAN_INVALID: "配送设置有误：配送费请填写 0 或不超过上限的金额。",
    ErrorCode.BILL_DAY_NOT_OVER: "这一天还没过完，账单要到第二天才有。",
    ErrorCode.BILL_RUN_NOT_FOUND: (
        "没有这一天的对账记录：对账每天 10 点后进行，日期请按 2026-12-07 这样写。"
    ),
    ErrorCode.ACTIVITY_NOT_FOUND: "没有找到这个活动安排。",
    ErrorCode.DELIVERY_PLAN_NOT_FOUND: "这个社区还没有设置截单时间：请先在「截单时间」里设置。",
    ErrorCode.ADDRESS_NOT_FOUND: "没有找到这个收货地址，可能已经删除。",
    ErrorCode.HOME_DELIVERY_NOT_FOUND: "这个订单是到自提点提货，没有送货上门的信息。",
    ErrorCode.IDENTITY_NOT_FOUND: "还没有提交实名认证。",
    ErrorCode.COUPON_NOT_FOUND: "没有找到这张券，可能已经用掉或过期。",
    ErrorCode.REPORT_TARGET_NOT_FOUND: "要举报的内容已经不在了，可能已被删除。",
    ErrorCode.POST_NOT_FOUND: "没有找到这条帖子，可能已经删除。",
    ErrorCode.COMMENT_NOT_FOUND: "没有找到这条评论，可能已经删除。",
    ErrorCode.FOLLOW_NOT_FOUND: "你没有关注过这位团长或这个社区。",
    ErrorCode.QUESTION_NOT_FOUND: "没有找到这个提问，可能已经删除。",
    ErrorCode.ANSWER_NOT_FOUND: "没有找到这条回答，可能已经删除。",
    ErrorCode.SEGMENT_NOT_FOUND: "没有找到这个人群分组。",
    ErrorCode.SIMULATION_DISABLED: "只有开发模式下可以这样登录：请在与机器人的私聊中发送「后台」。",
    ErrorCode.WITHDRAWAL_AMOUNT_INVALID: "提现金额请写元，如 50 或 12.5；不填是全部。",
    ErrorCode.WITHDRAWAL_BELOW_MINIMUM: "每次提现至少 ¥1.00（微信零钱的最低金额）。",
    ErrorCode.WITHDRAWAL_EXCEEDS_AVAILABLE: "提现金额超过了可提现余额，请看收益页上的可提现金额。",
    ErrorCode.WITHDRAWAL_PENDING: "你有一笔提现还在处理中，处理完（到账或退回）才能再申请。",
    ErrorCode.WITHDRAWAL_NEEDS_MINIAPP: "提现付到微信零钱，需要先在小程序里登录一次。",
    ErrorCode.WITHDRAWAL_NOT_FOUND: "没有找到这笔提现。",
    ErrorCode.WITHDRAWAL_DECIDED: "这笔提现已经处理过了（可能别的运营刚处理）。",
    ErrorCode.RATE_LIMITED: "操作太频繁，请稍后再试。",
    ErrorCode.SERVICE_UNAVAILABLE: "服务暂时不可用，请稍后再试。",
    ErrorCode.MALFORMED_JSON: "请求有误：提交的内容读不出来。",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "不支持这种提交方式。",
    ErrorCode.PAYLOAD_TOO_LARGE: "提交的内容太大了。",
    ErrorCode.VALIDATION_FAILED: "填写的内容有误。",
    ErrorCode.ROUTE_NOT_FOUND: "页面不存在。",
    ErrorCode.METHOD_NOT_ALLOWED: "不支持这种请求。",
    ErrorCode.INTERNAL_ERROR: "出错了，请稍后再试。",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "这次提交和上一次的内容不同，请刷新后重新提交。",
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: "上一次提交还在处理，请稍等片刻再看结果。",
    ErrorCode.WECHAT_CODE_INVALID: "微信登录没有成功，请重新打开小程序再试。",
    ErrorCode.WECHAT_RATE_LIMITED: "微信那边现在太忙，请稍后再试。",
    ErrorCode.WECHAT_USER_BLOCKED: "微信限制了这个账号的登录，请联系微信客服。",
    ErrorCode.WECHAT_UNAVAILABLE: "暂时连不上微信，请稍后再试。",
    ErrorCode.LINK_TOKEN_USED: "这个关联链接已经用过了，请在聊天中重新获取。",
    ErrorCode.CHAT_IDENTITY_LINKED_ELSEWHERE: (
        "你的聊天账号已关联到另一个小程序账号，不能再关联。如有疑问请联系管理员。"
    ),
    ErrorCode.ACCOUNT_LINK_CONFLICT: (
        "你的聊天账号和小程序账号在同一个拼团里都有座位，暂时不能关联：请先完成或取消其中一个。"
    ),
    ErrorCode.LEADER_CODE_INVALID: (
        "认证码不对、已用过或已超过 10 分钟，请在小程序「团长中心」重新获取。"
    ),
    ErrorCode.APPLICATION_PENDING: "你的团长申请已经提交，正在等运营审核。",
    ErrorCode.ALREADY_LEADER: "你已经是团长（或运营人员）了，不用再申请。",
    ErrorCode.DEAL_NUMBER_NEEDED: "现在有好几个团购在进行，请说明是哪一个（序号见「团购」）。",
    ErrorCode.CAMPAIGN_NOT_ACTIVE: "这个团购现在不在进行中。",
    ErrorCode.CAMPAIGN_PAUSED: "这个团购暂停了，团长恢复后才能参团。",
    ErrorCode.CAMPAIGN_SOLD_OUT: "这个团购已经抢光了。",
    ErrorCode.TEAM_FULL: "这个团已经满员了，看看其他团吧。",
    ErrorCode.TEAM_CLOSED: "这个团已经结束了，看看其他团吧。",
    ErrorCode.ALREADY_IN_TEAM: "你已经在这个活动的一个团里了，可以在「我的订单」看它的进度。",
    ErrorCode.OPEN_TEAM_EXISTS: "这个团购已经有一个在拼的团了，先把它拼满再开新团。",
    ErrorCode.USER_LIMIT_REACHED: "这个团购每人限购，你已经达到上限了。",
    ErrorCode.OUT_OF_STOCK: "库存不够了。",
    ErrorCode.ILLEGAL_TRANSITION: "它的状态刚刚变了，现在不能这样做：请刷新后再看。",
    ErrorCode.ORDER_AWAITING_TEAM: (
        "这笔订单已付款，正在等成团，现在不能取消：到截止时间还没成团，已付的钱会自动原路退回。"
    ),
    ErrorCode.ORDER_NUMBERS_CHANGED: (
        "订单列表有了变化，序号可能已经不同：请重新查看「我的订单」再按新序号操作。"
    ),
    ErrorCode.ORDER_NOT_PAYABLE: "这个订单现在不能付款：可能已经付过、已取消或已过付款时间。",
    ErrorCode.PAYMENT_PROVIDER_ERROR: "微信支付暂时出错了，请稍后再试，钱不会被扣两次。",
    ErrorCode.PAYMENT_MISMATCH: "支付结果和订单对不上，已交给运营核对。",
    ErrorCode.AMOUNT_OUT_OF_RANGE: "金额或数量超出了允许的范围。",
    ErrorCode.NOT_COMMUNITY_MEMBER: "请先加入这个社区再这样做。",
    ErrorCode.CHAT_ALREADY_BOUND: "这个群已经绑定了其他社区。",
    ErrorCode.CHAT_NOT_BOUND: "这个群还没有绑定社区：请团长在群里发送「绑定」。",
    ErrorCode.ACTIVITY_CANCELLED: "这个活动已经取消了。",
    ErrorCode.FLASH_SALE_NOT_RUNNING: "这场秒杀现在不在进行中：还没开始，或已经结束。",
    ErrorCode.WECHAT_SESSION_EXPIRED: "微信登录已过期，请重新打开小程序再试。",
    ErrorCode.OPEN_DATA_INVALID: "微信给的资料读不出来，请重新授权再试。",
    ErrorCode.WXACODE_RATE_LIMITED: "小程序码生成太频繁了，请稍后再试。",
    ErrorCode.GROWTH_RULES_INVALID: "分享奖励的设置有误，请检查后重试。",
    ErrorCode.PYRAMID_REFUSED: "奖励只能给直接邀请的人，不能层层分佣。",
    ErrorCode.BATCH_NOT_ARRIVED: "这个配送批次还没到货：请先确认到货。",
    ErrorCode.NO_BATCH_DISPATCHED: "现在没有在途的配送批次，不用报缺货。",
    ErrorCode.SHORTAGE_INVALID: "缺货数不对：请按批次的序号和订的件数填写。",
    ErrorCode.HOME_DELIVERY_UNAVAILABLE: "这个社区不提供送货上门，请到自提点提货。",
    ErrorCode.SUPPLIER_EXISTS: "你已经是供应商了，不用再申请。",
    ErrorCode.SUPPLIER_NOT_APPROVED: "供应商审核通过以后才能上架商品。",
    ErrorCode.REVIEW_DECIDED: "这条审核已经处理过了。",
    ErrorCode.IDENTITY_NOT_MATCHED: "姓名和身份证号没有核对上，请检查后重新提交。",
    ErrorCode.IDENTITY_PROVIDER_UNAVAILABLE: "实名核验暂时不可用，请稍后再试。",
    ErrorCode.LEADER_NOT_VERIFIED: "团长还没有完成实名认证，暂时不能付款，请稍后再试。",
    ErrorCode.COUPON_TEMPLATE_INVALID: "优惠券的设置有误。",
    ErrorCode.COUPON_NOT_CLAIMABLE: "这张券现在不能领取了。",
    ErrorCode.COUPONS_GONE: "手慢了，这张券已经被领完了。",
    ErrorCode.COUPON_LIMIT_REACHED: "这张券你已经领够了。",
    ErrorCode.COUPON_ALREADY_GRANTED: "这张券已经发过了。",
    ErrorCode.COUPON_NOT_USABLE: "这张券现在不能用在这个订单上。",
    ErrorCode.NEW_USER_OFFER_USED: "新人优惠只能用在第一单。",
    ErrorCode.POINTS_INSUFFICIENT: "积分不够了。",
    ErrorCode.POINTS_OVER_CAP: "这一单抵扣的积分超过上限了。",
    ErrorCode.ORDER_PRICE_FIXED: "订单已经发起支付，价格不能再改了。",
    ErrorCode.OUTBOX_MESSAGE_NOT_PARKED: "这条消息已经不在待处理里了（可能已经重发）。",
    ErrorCode.AFTER_SALE_NOT_ALLOWED: (
        "这个订单现在还不能申请售后（未付款、未成团或已退款的订单不行）。"
    ),
    ErrorCode.AFTER_SALE_WINDOW_CLOSED: "这个订单已经过了售后期，不能再取消或申请退款了。",
    ErrorCode.AFTER_SALE_OPEN: "这个订单已经有一个售后申请在处理了，请等团长处理。",
    ErrorCode.NO_REASON_RETURN_EXCLUDED: (
        "生鲜易腐的商品不支持七天无理由退货；如果有质量问题，请说明原因再申请。"
    ),
    ErrorCode.RETURN_RULE_INVALID: "退货规则的设置有误，请检查后重试。",
    ErrorCode.CLAIM_DECIDED: "这份理赔申请已经处理过了。",
    ErrorCode.CLAIM_NO_ORDERS: "这一天这个商品没有送到的订单，不能理赔。",
    ErrorCode.BILL_DIFFERENCE_RESOLVED: "这条对账差异已经处理过了。",
    ErrorCode.BARGAIN_OFFER_INVALID: (
        "砍价活动的设置有误：底价要比原价低，每位帮砍的好友至少砍一分钱。"
    ),
    ErrorCode.BARGAIN_NOT_YOURS: "这个砍价是别人发起的，只有发起人才能按砍后价购买。",
    ErrorCode.BARGAIN_ALREADY_STARTED: "你已经砍过这件商品了，每人每件只能砍一次。",
    ErrorCode.BARGAIN_OWN_CUT: "不能给自己的砍价帮砍，把砍价码发给好友吧。",
    ErrorCode.BARGAIN_NEW_USERS_ONLY: "这个砍价只限新人帮砍。",
    ErrorCode.BARGAIN_CLOSED: "这个砍价已经结束了。",
    ErrorCode.BARGAIN_FLOOR_REACHED: "这个砍价已经砍到底价了，不用再砍了。",
    ErrorCode.BARGAIN_ALREADY_CUT: "你已经帮砍过这一单了，每人只能砍一刀。",
    ErrorCode.BARGAIN_ALREADY_ORDERED: "这个砍价已经下单了，请到「我的订单」查看。",
    ErrorCode.TIER_LADDER_INVALID: "会员等级的设置有误：门槛要逐级升高，折扣在 0 到 100% 之间。",
    ErrorCode.CONTENT_REFUSED: "内容没有通过审核，请修改后再发。",
    ErrorCode.USER_MUTED: "你因多次发布违规内容被暂时禁言，稍后再来。",
    ErrorCode.WORD_INVALID: "违禁词不能为空，也不能太长。",
    ErrorCode.MODERATION_ITEM_DECIDED: "这条内容已经审核过了。",
    ErrorCode.ORDER_NOT_PICKED_UP: "取货以后才能评价这个订单。",
    ErrorCode.ALREADY_REVIEWED: "这个订单已经评价过了。",
    ErrorCode.FOLLOW_INVALID: "请选择要关注的团长或社区（二选一），不能关注自己。",
    ErrorCode.NOT_A_BUYER: "只有买过这个商品的人和团长可以回答。",
    ErrorCode.ERASURE_ORDERS_OPEN: (
        "现在还不能注销：你有待支付或还在路上的订单，处理完（付款或等超时取消、提货完成）再注销。"
    ),
    ErrorCode.PERSONAL_DATA_UNREADABLE: "个人资料暂时读不出来，已通知运营处理，请稍后再试。",
    ErrorCode.ERASURE_REFUSED_ADMIN: "运营人员的账号要先由另一位运营取消运营权限，再注销。",
    ErrorCode.ERASURE_REFUSED_LEADER: "你还是社区的团长：请先联系运营把社区交给别人，再注销账号。",
    ErrorCode.ERASURE_EARNINGS_UNSETTLED: "你还有未结清的收益：结清后再注销账号。",
    ErrorCode.SEGMENT_RULE_INVALID: "人群分组的条件有误，请检查后重试。",
    ErrorCode.UNKNOWN_SUBSCRIBE_TEMPLATE: "没有这种订阅消息。",
    ErrorCode.URL_HAS_NUL: "请求有误：链接里有无效的字符。",
}
BY_STATUS = {
    400: "请求有误。",
    401: MESSAGES[ErrorCode.UNAUTHENTICATED],
    403: MESSAGES[ErrorCode.FORBIDDEN],
    404: "页面不存在。",
    405: "不支持这种请求。",
    409: "现在不能这样做。",
    413: "提交的内容太大了。",
    422: "填写的内容有误。",
    429: MESSAGES[ErrorCode.RATE_LIMITED],
    503: MESSAGES[ErrorCode.SERVICE_UNAVAILABLE],
}
GENERIC = "出错了，请稍后再试。"


def message_of(status: int, code: str) -> str:
    return MESSAGES.get(code) or BY_STATUS.get(status, GENERIC)


def readable(detail: str) -> str:
    """A service's detail when a person can read it (written in Chinese), else nothing."""
    return detail if HAN.search(detail) else ""
