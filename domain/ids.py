"""Deterministic ids from natural keys, so lookups and idempotency need no query."""

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c1a52-3c1e-4c0e-9a57-43a4b1f0c0de")


def sku_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"sku:{code}")


def barcode_id(barcode: str) -> UUID:
    return uuid5(NAMESPACE, f"barcode:{barcode}")


def warehouse_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"warehouse:{code}")


def stock_id(warehouse: str, sku: str) -> UUID:
    return uuid5(NAMESPACE, f"stock:{warehouse}:{sku}")


def order_id(channel: str, shop: str, platform_order_no: str) -> UUID:
    return uuid5(NAMESPACE, f"order:{channel}:{shop}:{platform_order_no}")


def wave_id(warehouse: str, number: str) -> UUID:
    return uuid5(NAMESPACE, f"wave:{warehouse}:{number}")


def package_id(order: UUID) -> UUID:
    return uuid5(NAMESPACE, f"package:{order}")


def historic_order_id(channel: str, shop: str, order_no: str) -> UUID:
    """Apart from live orders' ids: a past order is never pulled into live work, nor a live one into history."""
    return uuid5(NAMESPACE, f"historic-order:{channel}:{shop}:{order_no}")
