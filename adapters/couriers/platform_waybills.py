"""E-waybills ordered on a marketplace's own open platform through the shop's client (its signing, tokens and rate
limits): Pinduoduo (拼多多电子面单, pdd.waybill.get), Douyin (抖店电子面单, logistics.newCreateOrder) and JD (京东无界电子面单,
jingdong.ldop.alpha.waybill.receive). An order of that platform goes with the receiver ciphertexts or OAID it came
with, which the platform reads itself."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.couriers.base import (
    CourierAuthError,
    format_china_time,
    utc_now,
    CourierClient,
    CourierMalformedResponse,
    CourierRejected,
    CourierUnavailable,
    RouteEvent,
    TrackingClient,
    Waybill,
    WaybillRequest,
)
from adapters.couriers.cainiao import user_info
from adapters.couriers.print_data import PrintData, read_print_data
from adapters.marketplaces.base import (
    MarketplaceClient,
    MarketplaceError,
    PlatformAuthError,
    PlatformRateLimited,
    PlatformServerError,
)

GET_WAYBILL = "pdd.waybill.get"
CANCEL_WAYBILL = "pdd.waybill.cancel"
CIPHER_FIELDS = ("name", "phone", "address")  # PDD's receiver ciphertexts, each taken in place of the plain field


class PlatformWaybillClient(CourierClient):
    """E-waybills of one courier ordered on a marketplace's open platform; routes come from a tracker."""

    platform = ""  # the marketplace whose orders' ciphertexts it takes
    prefix = ""

    def __init__(self, shop: MarketplaceClient, *, wp_code: str, tracker: TrackingClient) -> None:
        self._shop = shop
        self._wp_code = wp_code
        self._tracker = tracker
        self.code = f"{self.prefix}-{wp_code}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(wp_code={self._wp_code!r})"

    def takes_protected(self, platform: str, protected: Mapping[str, str]) -> bool:
        """The platform reads its own orders' receiver ciphertexts (name, phone and address all needed)."""
        return platform == self.platform and all(protected.get(name) for name in CIPHER_FIELDS)

    def routes(self, tracking_nos: Iterable[str]) -> list[RouteEvent]:
        return self._tracker.routes(tracking_nos)

    def _call(self, *args: Any, **business: Any) -> Any:
        try:
            return self._shop.call(*args, **business)
        except PlatformAuthError as error:
            raise CourierAuthError(self.code, str(error), code=error.code) from None
        except (PlatformRateLimited, PlatformServerError) as error:
            raise CourierUnavailable(self.code, str(error), code=error.code) from None
        except MarketplaceError as error:
            raise CourierRejected(self.code, str(error), code=error.code) from None

    def _waybill(self, req: WaybillRequest, number: Any, sort_code: Any = "", package_center: Any = "",
                 print_data: str = "") -> Waybill:
        if not number:
            raise CourierMalformedResponse(self.code, "no waybill number in the answer")
        return Waybill(courier=self.code, tracking_no=str(number), order_no=req.order_no, sort_code=str(sort_code or ""),
                       package_center=str(package_center or ""), print_data=print_data or None)


class PddWaybillClient(PlatformWaybillClient):
    """Pinduoduo e-waybills (wp_code: the courier's PDD code)."""

    platform, prefix = "pinduoduo", "PDD"

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Take one waybill number with its cloud-print data (pdd.waybill.get)."""
        recipient = user_info(req.receiver)
        channel = "OTHERS"
        if self.takes_protected(req.platform, req.receiver_protected):
            protected = req.receiver_protected
            recipient.update(name=protected["name"], mobile=protected["phone"])
            recipient["address"]["detail"] = protected["address"]
            channel = "PDD"
        trade_order = {
            "object_id": "1",
            "order_info": {"order_channels_type": channel, "trade_order_list": [req.order_no]},
            "package_info": {"id": req.order_no, "items": [{"count": 1, "name": req.item_summary or "商品"}],
                             "weight": req.weight_grams, "volume": req.volume_cm3},
            "recipient": recipient,
            "user_id": 0,
        }
        request = {"wp_code": self._wp_code, "sender": user_info(req.sender), "trade_order_info_dtos": [trade_order],
                   "need_encrypt": False}
        answer = self._call(GET_WAYBILL, "pdd_waybill_get_response", param_waybill_cloud_print_apply_new_request=request)
        try:
            row = answer["modules"][0]
            number = row["waybill_code"]
            print_data = row.get("print_data") or ""
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise CourierMalformedResponse(self.code, f"cannot read the waybill ({type(exc).__name__})") from None
        facts = read_print_data(print_data) or PrintData("", "", False)
        return self._waybill(req, number, facts.sort_code, facts.package_centre, print_data)

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Give the number back (pdd.waybill.cancel)."""
        answer = self._call(CANCEL_WAYBILL, "pdd_waybill_cancel_response", wp_code=self._wp_code,
                            waybill_code=tracking_no)
        if answer.get("cancel_result") is not True:
            raise CourierRejected(self.code, "cancel refused", code="cancel_result=false")



class DouyinWaybillClient(PlatformWaybillClient):
    """Douyin shop e-waybills (logistics.newCreateOrder; wp_code: the courier's logistics_code)."""

    platform, prefix = "douyin", "DOUYIN"

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Take one waybill number (logistics.newCreateOrder)."""
        receiver = _douyin_party(req.receiver)
        if self.takes_protected(req.platform, req.receiver_protected):
            protected = req.receiver_protected
            receiver["contact"].update(name=protected["name"], mobile=protected["phone"])
            receiver["address"]["detail_address"] = protected["address"]
        order = {"order_id": req.order_no, "pack_id": req.order_no, "receiver_info": receiver,
                 "items": [{"item_name": req.item_summary or "商品", "item_count": 1}],
                 "total_weight": str(req.weight_grams)}
        data = self._call("logistics.newCreateOrder", {"logistics_code": self._wp_code, "order_infos": [order],
                                                       "sender_info": _douyin_party(req.sender)})
        try:
            if data.get("err_infos"):
                failed = data["err_infos"][0]
                raise CourierRejected(self.code, str(failed.get("err_msg", "refused")), code=str(failed.get("err_code", "")))
            row = data["ebill_infos"][0]
            return self._waybill(req, row["track_no"], row.get("sort_code"), row.get("package_center_name"))
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise CourierMalformedResponse(self.code, f"cannot read the waybill ({type(exc).__name__})") from None

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Give the number back (logistics.cancelOrder)."""
        data = self._call("logistics.cancelOrder", {"logistics_code": self._wp_code, "track_no": tracking_no})
        if not isinstance(data, Mapping) or not data.get("cancel_result"):
            raise CourierRejected(self.code, "cancel refused", code="cancel_result=false")


def _douyin_party(party) -> dict[str, Any]:
    a = party.address
    return {"contact": {"name": party.name, "mobile": party.phone},
            "address": {"country_code": "CHN", "province_name": a.province, "city_name": a.city,
                        "district_name": a.district, "detail_address": a.detail}}


JD_SALE_PLATFORM = "0010001"  # 销售平台: 京东 (a JD order, whose receiver JD reads from its OAID)
OTHER_SALE_PLATFORM = "0030001"  # 销售平台: 其他平台


class JdWaybillClient(PlatformWaybillClient):
    """JD 无界电子面单 for one courier (wp_code: its JD provider code, e.g. YTO): the number from
    jingdong.ldop.alpha.waybill.receive, the sort code (大头笔) and package centre (集包地) from
    jingdong.ldop.alpha.vendor.bigshot.query, the print data for JD's cloud print from jingdong.printing.printData.pullData.
    A JD order's receiver goes as its OAID with the masked text it came with; JD reads the OAID itself."""

    platform, prefix = "jd", "JD"

    def __init__(self, shop: MarketplaceClient, *, wp_code: str, tracker: TrackingClient, vendor_code: str = "",
                 vendor_name: str = "", branch_code: str = "", settlement_code: str = "", template_url: str = "") -> None:
        super().__init__(shop, wp_code=wp_code, tracker=tracker)
        self._vendor_code = vendor_code or shop.credentials.shop
        self._vendor_name = vendor_name or self._vendor_code
        self._branch_code, self._settlement_code, self._template_url = branch_code, settlement_code, template_url

    def takes_protected(self, platform: str, protected: Mapping[str, str]) -> bool:
        """JD reads its own orders' receivers from their OAID."""
        return platform == self.platform and bool(protected.get("oaid"))

    def _result(self, answer: Any, what: str) -> Mapping[str, Any]:
        """无界 answers carry resultInfo {statusCode, statusMessage, data}; statusCode 0 is success."""
        result = answer.get("resultInfo") if isinstance(answer, Mapping) else None
        if not isinstance(result, Mapping) or "statusCode" not in result:
            raise CourierMalformedResponse(self.code, f"no resultInfo in the {what} answer")
        if str(result["statusCode"]) != "0":
            raise CourierRejected(self.code, str(result.get("statusMessage") or f"{what} refused"),
                                  code=str(result["statusCode"]))
        return result.get("data") or {}

    def create_waybill(self, req: WaybillRequest) -> Waybill:
        """Take one waybill number, then its sort code and its print data."""
        receiver = _jd_address(req.receiver)
        sale_platform = OTHER_SALE_PLATFORM
        if self.takes_protected(req.platform, req.receiver_protected):
            receiver["oaid"] = req.receiver_protected["oaid"]
            sale_platform = JD_SALE_PLATFORM
        content = {
            "waybillType": 1, "waybillCount": 1, "providerCode": self._wp_code, "branchCode": self._branch_code,
            "settlementCode": self._settlement_code, "salePlatform": sale_platform, "platformOrderNo": req.order_no,
            "vendorCode": self._vendor_code, "vendorName": self._vendor_name, "vendorOrderCode": req.order_no,
            "weight": f"{req.weight_grams / 1000:.2f}", "volume": f"{req.volume_cm3:.2f}", "payType": 0,
            "shouldPayMoney": f"{req.cod_amount:.2f}", "needGuarantee": False, "guaranteeMoney": "0.00",
            "receiveTimeType": 0, "promiseTimeType": 0, "goodsName": (req.item_summary or "商品")[:100],
            "fromAddress": _jd_address(req.sender), "toAddress": receiver,
        }
        data = self._result(self._call("jingdong.ldop.alpha.waybill.receive",
                                       {"content": json.dumps(content, ensure_ascii=False)}), "waybill")
        try:
            number = data["waybillCodeList"][0]
        except (KeyError, IndexError, TypeError):
            raise CourierMalformedResponse(self.code, "no waybillCodeList in the answer") from None
        routing = self._result(self._call("jingdong.ldop.alpha.vendor.bigshot.query",
                                          {"waybillCode": number, "providerCode": self._wp_code}), "bigshot")
        return self._waybill(req, number, routing.get("bigShotName"), routing.get("gatherCenterName"),
                             self._print_data(req.order_no, number))

    def _print_data(self, order_no: str, number: str) -> str:
        """The waybill's print data for JD's cloud print component with the standard template, as JSON."""
        answer = self._call("jingdong.printing.printData.pullData", {"param1": {
            "objectId": uuid.uuid4().hex, "cpCode": self._wp_code, "parameters": {"ewCustomerCode": self._vendor_code},
            "wayBillInfos": [{"orderNo": order_no, "popFlag": 1, "wayBillCode": number}]}})
        result = answer.get("returnType") if isinstance(answer, Mapping) else None
        if not isinstance(result, Mapping) or str(result.get("code")) != "1":
            message = result.get("message") if isinstance(result, Mapping) else "no returnType"
            raise CourierRejected(self.code, f"print data refused: {message}")
        found = [row for row in result.get("prePrintDatas") or [] if isinstance(row, Mapping)
                 and str(row.get("wayBillNo")) == number and str(row.get("code")) == "1"]
        if not found or not found[0].get("perPrintData"):
            raise CourierMalformedResponse(self.code, f"no print data for {number} in the answer")
        return json.dumps({"encryptedData": found[0]["perPrintData"], "templateURL": self._template_url,
                           "ver": "jd-cloud-print"}, ensure_ascii=False)

    def cancel_waybill(self, tracking_no: str, order_no: str) -> None:
        """Give the number back (jingdong.ldop.alpha.waybill.api.unbind)."""
        content = {"providerCode": self._wp_code, "waybillCode": tracking_no, "operatorName": "cangku",
                   "operatorTime": format_china_time(utc_now())}
        self._result(self._call("jingdong.ldop.alpha.waybill.api.unbind",
                                {"content": json.dumps(content, ensure_ascii=False)}), "unbind")


def _jd_address(party) -> dict[str, Any]:
    a = party.address
    return {"provinceName": a.province, "cityName": a.city, "countryName": a.district, "address": a.detail,
            "contact": party.name, "phone": party.phone, "mobile": party.phone}
