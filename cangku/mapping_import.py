"""A file of platform SKU mappings: one row per SKU of a kit (组合装), all of a file's mappings made or none."""

from pathlib import Path

from domain.errors import DomainError, RowsRejected

from .csv_import import read_rows

MAPPING_COLUMNS = ("channel", "shop", "platform_sku", "sku", "quantity")


def mapping_rows(rows: list[tuple[int, dict[str, str]]]) -> dict[tuple[str, str, str], dict]:
    """Rows grouped per (channel, shop, platform SKU): its item id, its SKUs with units, and the rows behind it."""
    mappings: dict[tuple[str, str, str], dict] = {}
    errors = {}
    for number, row in rows:
        key = (row["channel"], row["shop"], row["platform_sku"])
        try:
            units = int(row["quantity"] or "1")
        except ValueError:
            errors[number] = f"quantity must be a whole number, got {row['quantity']!r}"
            continue
        mapping = mappings.setdefault(key, {"item_id": "", "components": {}, "rows": []})
        if row["sku"] in mapping["components"]:
            errors[number] = f"SKU {row['sku']!r} appears twice for platform SKU {row['platform_sku']!r}"
            continue
        mapping["components"][row["sku"]] = units
        mapping["item_id"] = mapping["item_id"] or row.get("item_id", "")
        mapping["rows"].append(number)
    if errors:
        raise RowsRejected(errors)
    return mappings


def import_mappings(system, path: Path, by: str) -> dict:
    """Map every platform SKU of the file (CSV columns channel,shop,platform_sku,sku,quantity[,item_id]); each
    mapping is checked first, and one bad row refuses the file. Orders waiting for them are released."""
    mappings = mapping_rows(read_rows(path, MAPPING_COLUMNS))
    errors = {}
    for (channel, shop, platform_sku), mapping in mappings.items():
        try:
            system.app.channels.check_mapping(channel, shop, platform_sku, mapping["components"], mapping["item_id"])
        except DomainError as error:
            errors.update({number: str(error) for number in mapping["rows"]})
    if errors:
        raise RowsRejected(errors)
    done = [system.map_platform_sku(channel, shop, platform_sku, mapping["components"], by, mapping["item_id"])
            for (channel, shop, platform_sku), mapping in mappings.items()]
    return {"mapped": len(done), "released": sum(d["released"] for d in done),
            "reserved": sum(d["reserved"] for d in done)}
