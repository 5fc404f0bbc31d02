"""Chinese (default) and English, as plain dictionaries; the choice is remembered in a cookie."""

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "lang"

TEXT = {
    "zh": {
        "title": "仓库扫描", "login": "登录", "badge": "工牌", "pin": "密码 (PIN)", "sign_in": "登录",
        "sign_out": "退出", "menu": "菜单", "language": "English", "waiting": "处理中", "queued": "待发送",
        "receive": "收货", "putaway": "上架", "pick": "拣货", "pack": "打包复核", "handover": "快递交接",
        "count": "盘点", "returns": "退货", "supervisor": "主管",
        "prompt_reference_or_item": "扫描采购单号 (PO…) 或商品条码", "prompt_item": "扫描商品条码",
        "prompt_quantity": "输入数量后按回车", "prompt_target_bin": "扫描目标货位 (可先输入数量)",
        "prompt_wave": "扫描波次号或选择波次", "prompt_bin": "请到货位并扫描货位码", "prompt_bin_count": "扫描要盘点的货位",
        "prompt_order": "扫描订单号或周转箱", "prompt_parcel": "扫描包裹运单号", "prompt_count": "输入清点数量",
        "prompt_weight": "称重: 输入重量 (克)", "prompt_grade": "判定: 良品 (1) 或 次品 (2)",
        "prompt_return_order": "扫描运单号或订单号", "prompt_close": "全部复核完毕, 请封箱",
        "prompt_waybill": "获取快递面单", "prompt_print": "打印面单",
        "reference": "采购单", "blind": "盲收", "from_bin": "来源货位", "quantity": "数量", "remaining": "待拣",
        "tote": "周转箱", "line": "行", "wave": "波次", "bin": "货位", "item": "商品", "outstanding": "待复核",
        "weight": "重量", "tracking": "运单号", "handed_over_count": "已交接包裹", "order": "订单",
        "short": "缺货", "cancel": "取消", "close": "封箱", "request_waybill": "获取面单", "print": "打印面单",
        "done": "完成", "resaleable": "良品 1", "defective": "次品 2", "open_waves": "待拣波次",
        "no_waves": "没有待拣波次", "wave_finished": "波次 {wave} 已拣完", "units_left": "剩余 {n} 件",
        "create_wave": "全部已预占订单建波次", "reserved_orders": "已预占订单: {n}", "exceptions": "异常", "failed_jobs": "失败的任务", "job": "任务", "attempts": "重试次数", "error": "错误",
        "retry": "重试", "no_failed_jobs": "没有失败的任务", "job_not_found": "找不到这个任务",
        "pending_counts": "待审批盘点差异", "approve": "批准", "reject": "驳回", "statistics": "拣货效率与误扫率",
        "staff": "员工", "picks": "拣货次数", "units": "件数", "scans": "扫描", "misscans": "误扫",
        "picks_per_hour": "每小时拣货", "misscan_rate": "误扫率", "hours": "工作小时", "recent_scans": "最近扫描",
        "at": "时间", "device": "设备", "screen": "界面", "value": "内容", "outcome": "结果", "read_only": "只读",
        "counted": "清点", "on_hand": "账面", "difference": "差异", "by": "操作人", "hour": "小时",
        "not_permitted_screen": "你的角色不能使用此界面",
        # what a scan did
        "wave_opened": "开始波次 {wave}", "bin_confirmed": "货位 {bin} 正确, 请扫描 {sku}",
        "enter_quantity": "{sku}: 请输入数量 (待拣 {remaining})", "picked": "已拣 {quantity} × {sku}, 放入 {tote} 号箱",
        "try_bin": "{bin} 缺货, 请到 {next_bin}", "line_short": "{sku} 缺 {missing} 件, 已上报主管",
        "wave_done": "波次 {wave} 已完成", "cancelled": "已取消",
        "pack_order": "订单 {order}: 请逐件扫描商品", "verified": "{sku} 复核通过, 还剩 {left} 件",
        "closed": "订单 {order} 已封箱", "weighed": "重量 {grams} 克", "waybill": "面单号 {tracking}",
        "printed": "面单 {tracking} 已打印", "handed_over": "{tracking} 已交接, 订单 {order} 已发货",
        "reference_set": "采购单 {reference}", "received": "已收货 {quantity} × {sku} 到 {bin}",
        "scan_target_bin": "{sku}: {bin} 有 {quantity} 件, 请扫描目标货位", "quantity_set": "上架数量 {quantity}",
        "put_away": "{quantity} × {sku} 已上架到 {bin}", "count_bin": "盘点货位 {bin}",
        "enter_count": "{sku}: 请输入清点数量", "count_matches": "{sku} 数量一致 ({counted})",
        "count_adjusted": "{sku} 差异 {difference} 已调整", "count_pending": "{sku} 差异 {difference} 超限, 待主管审批",
        "count_done": "货位盘点结束", "return_order": "退货订单 {order}: 请扫描商品", "grade_prompt": "{sku}: 良品还是次品?",
        "restocked": "{sku} 良品, 入 {bin}", "scrapped": "{sku} 次品, 已报废", "returns_done": "退货完成",
        "wave_created": "已建波次 {wave}, {orders} 个订单", "count_approved": "已批准盘点差异",
        "count_rejected": "已驳回盘点差异", "logged_in": "已登录", "logged_out": "已退出",
        # why a scan was refused
        "wrong_bin": "货位错误! 应到 {expected}", "wrong_item": "商品错误! 应为 {expected}",
        "unexpected_input": "输入无效", "unknown_barcode": "未知条码", "unknown_bin": "未知货位",
        "unknown_wave": "未知波次", "unknown_order": "找不到订单或周转箱", "unknown_parcel": "找不到该运单号的包裹",
        "ambiguous_order": "有 {count} 个订单使用此号码", "bin_empty": "货位已空", "insufficient_stock": "库存不足",
        "nothing_to_put_away": "{sku} 没有待上架库存", "invalid_order_state": "订单状态不允许此操作",
        "package_incomplete": "还有商品未复核, 不能封箱", "invalid_quantity": "数量无效", "invalid_input": "输入无效",
        "not_allowed": "没有权限", "printer_unavailable": "打印机故障", "stale_sequence": "页面已过期, 正在重发",
        "concurrent_update": "系统繁忙, 请重扫", "not_reserved": "未预占", "unknown_count_request": "找不到盘点差异",
        "conflict": "操作冲突", "not_logged_in": "请先登录", "domain_error": "操作被拒绝",
    },
    "en": {
        "title": "Cangku scanner", "login": "Sign in", "badge": "Badge", "pin": "PIN", "sign_in": "Sign in",
        "sign_out": "Sign out", "menu": "Menu", "language": "中文", "waiting": "sending", "queued": "queued",
        "receive": "Receive", "putaway": "Put away", "pick": "Pick", "pack": "Pack", "handover": "Hand over",
        "count": "Cycle count", "returns": "Returns", "supervisor": "Supervisor",
        "prompt_reference_or_item": "Scan a purchase order (PO…) or an item", "prompt_item": "Scan the item",
        "prompt_quantity": "Type the quantity, then Enter",
        "prompt_target_bin": "Scan the target bin (type a quantity first to move fewer)",
        "prompt_wave": "Scan a wave number or choose a wave", "prompt_bin": "Go to the bin and scan it",
        "prompt_bin_count": "Scan the bin to count", "prompt_order": "Scan the order number or tote",
        "prompt_parcel": "Scan the parcel's tracking number", "prompt_count": "Type the counted quantity",
        "prompt_weight": "Weigh: type the weight in grams", "prompt_grade": "Grade: resaleable (1) or defective (2)",
        "prompt_return_order": "Scan the waybill or the order number",
        "prompt_close": "Every item checked: close the package",
        "prompt_waybill": "Request the waybill", "prompt_print": "Print the label",
        "reference": "Purchase order", "blind": "blind", "from_bin": "From bin", "quantity": "Quantity",
        "remaining": "To pick", "tote": "Tote", "line": "Line", "wave": "Wave", "bin": "Bin", "item": "Item",
        "outstanding": "To check", "weight": "Weight", "tracking": "Tracking no.",
        "handed_over_count": "Parcels handed over",
        "order": "Order", "short": "Short", "cancel": "Cancel", "close": "Close package",
        "request_waybill": "Request waybill",
        "print": "Print label", "done": "Done", "resaleable": "Resaleable 1", "defective": "Defective 2",
        "open_waves": "Waves to pick", "no_waves": "No waves to pick", "wave_finished": "Wave {wave} is picked",
        "units_left": "{n} units left", "create_wave": "Wave of all reserved orders",
        "reserved_orders": "Reserved orders: {n}",
        "exceptions": "Exceptions", "failed_jobs": "Failed jobs", "job": "Job", "attempts": "Attempts",
        "error": "Error", "retry": "Retry", "no_failed_jobs": "No failed jobs", "job_not_found": "No such job", "pending_counts": "Count differences awaiting approval", "approve": "Approve",
        "reject": "Reject", "statistics": "Picks per hour and mis-scan rate", "staff": "Staff", "picks": "Picks",
        "units": "Units", "scans": "Scans", "misscans": "Mis-scans", "picks_per_hour": "Picks/hour",
        "misscan_rate": "Mis-scan rate", "hours": "Active hours", "recent_scans": "Recent scans", "at": "At",
        "device": "Device", "screen": "Screen", "value": "Value", "outcome": "Outcome", "read_only": "read-only",
        "counted": "Counted", "on_hand": "On hand", "difference": "Difference", "by": "By", "hour": "Hour",
        "not_permitted_screen": "Your role cannot use this screen",
        "wave_opened": "Wave {wave} started", "bin_confirmed": "Bin {bin} is right: scan {sku}",
        "enter_quantity": "{sku}: type the quantity ({remaining} to pick)",
        "picked": "Picked {quantity} × {sku} into tote {tote}", "try_bin": "{bin} is short: go to {next_bin}",
        "line_short": "{sku} short by {missing}: the supervisor is told", "wave_done": "Wave {wave} is done",
        "cancelled": "Cancelled", "pack_order": "Order {order}: scan each item",
        "verified": "{sku} checked, {left} to go",
        "closed": "Order {order} closed", "weighed": "Weight {grams} g", "waybill": "Waybill {tracking}",
        "printed": "Label {tracking} printed", "handed_over": "{tracking} handed over: order {order} shipped",
        "reference_set": "Purchase order {reference}", "received": "Received {quantity} × {sku} into {bin}",
        "scan_target_bin": "{sku}: {quantity} in {bin}; scan the target bin", "quantity_set": "Putting away {quantity}",
        "put_away": "{quantity} × {sku} put away in {bin}", "count_bin": "Counting bin {bin}",
        "enter_count": "{sku}: type the counted quantity", "count_matches": "{sku} matches ({counted})",
        "count_adjusted": "{sku} adjusted by {difference}",
        "count_pending": "{sku} differs by {difference}: awaiting approval",
        "count_done": "Bin count finished", "return_order": "Return of order {order}: scan the items",
        "grade_prompt": "{sku}: resaleable or defective?", "restocked": "{sku} resaleable, into {bin}",
        "scrapped": "{sku} defective, scrapped", "returns_done": "Return finished",
        "wave_created": "Wave {wave} created with {orders} orders", "count_approved": "Count difference approved",
        "count_rejected": "Count difference rejected", "logged_in": "Signed in", "logged_out": "Signed out",
        "wrong_bin": "Wrong bin! Go to {expected}", "wrong_item": "Wrong item! Expected {expected}",
        "unexpected_input": "Not accepted here", "unknown_barcode": "Unknown barcode", "unknown_bin": "Unknown bin",
        "unknown_wave": "Unknown wave", "unknown_order": "No such order or tote",
        "unknown_parcel": "No parcel with this tracking number",
        "ambiguous_order": "{count} orders carry this number", "bin_empty": "The bin is empty",
        "insufficient_stock": "Not enough stock", "nothing_to_put_away": "No {sku} waiting to be put away",
        "invalid_order_state": "The order is not at this step",
        "package_incomplete": "Items still to check: cannot close",
        "invalid_quantity": "Invalid quantity", "invalid_input": "Invalid input", "not_allowed": "Not allowed",
        "printer_unavailable": "The printer failed", "stale_sequence": "Stale page: resending",
        "concurrent_update": "Busy: scan again", "not_reserved": "Not reserved",
        "unknown_count_request": "No such count difference",
        "conflict": "Conflict", "not_logged_in": "Please sign in", "domain_error": "Refused",
    },
}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def translate(lang: str, key: str, params: dict | None = None) -> str:
    """The text of a key in a language (English, then the key itself, when missing), with its parameters filled."""
    text = TEXT.get(lang, TEXT[DEFAULT]).get(key) or TEXT["en"].get(key) or key
    try:
        return text.format_map(_Blank(params or {}))
    except (ValueError, IndexError):
        return text


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT
