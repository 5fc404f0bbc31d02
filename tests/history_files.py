"""Synthetic past orders in the shape of a public online shop's invoice lines (InvoiceNo with C… cancellations,
StockCode, Description, Quantity negative on cancellations, InvoiceDate as month/day/year, UnitPrice, CustomerID,
Country), and an independent computation of the figures the reports must show for them."""

import csv
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
START = datetime(2010, 12, 1, 8, 26)


def online_retail_file(path: Path, lines: int, seed: int = 7, skus: int = 400) -> Path:
    """A CSV of about `lines` invoice lines over a year: invoices of 1-40 lines, about 2% cancellation invoices
    (C…, negative quantities), a few stock write-offs (negative quantity on an ordinary invoice, price 0), a few
    bad-debt adjustments (A…) and customers missing on a quarter of the invoices."""
    rng = random.Random(seed)
    codes = [f"{rng.randint(10000, 99999)}{rng.choice(['', 'A', 'B'])}" for _ in range(skus)]
    prices = {code: Decimal(rng.randint(10, 2500)) / 100 for code in codes}
    weights = [1 / (rank + 1) for rank in range(skus)]
    written, invoice = 0, 536365
    moment = START
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        while written < lines:
            moment += timedelta(minutes=rng.randint(1, 40))
            customer = "" if rng.random() < 0.25 else f"{rng.randint(12346, 18287)}.0"
            country = rng.choice(["United Kingdom"] * 8 + ["France", "Germany"])
            stamp = f"{moment.month}/{moment.day}/{moment.year} {moment.hour}:{moment.minute:02d}"
            cancel = rng.random() < 0.02
            if rng.random() < 0.002:  # a bad-debt adjustment: no sale
                out.writerow([f"A{invoice}", "B", "Adjust bad debt", 1, stamp, "11062.06", "", country])
                written += 1
            number = f"C{invoice}" if cancel else str(invoice)
            invoice += 1
            for _ in range(min(rng.randint(1, 40), lines - written)):
                code = rng.choices(codes, weights)[0]
                quantity = rng.choice([1, 2, 3, 6, 12, 24])
                if cancel:
                    row = [number, code, f"ITEM {code}", -quantity, stamp, prices[code], customer, country]
                elif rng.random() < 0.003:
                    row = [number, code, "damaged", -quantity, stamp, "0", "", country]
                else:
                    row = [number, code, f"ITEM {code}", quantity, stamp, prices[code], customer, country]
                out.writerow(row)
                written += 1
    return path


def expected_figures(path: Path) -> dict:
    """Monthly revenue and refunds and units per SKU, read straight from the file (no Cangku code): a C… invoice
    refunds on its own date, a negative line on any other invoice or an A… adjustment is no sale."""
    revenue, refunds = defaultdict(Decimal), defaultdict(Decimal)
    sold, cancelled = Counter(), Counter()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            when = datetime.strptime(row["InvoiceDate"], "%m/%d/%Y %H:%M")
            month = f"{when.year}-{when.month:02d}"
            quantity, price = int(row["Quantity"]), Decimal(row["UnitPrice"])
            amount = (abs(quantity) * price).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if row["InvoiceNo"].startswith("A"):
                continue
            if row["InvoiceNo"].startswith("C"):
                refunds[month] += amount
                cancelled[row["StockCode"]] += -quantity
            elif quantity > 0:
                revenue[month] += amount
                sold[row["StockCode"]] += quantity
    net = Counter({code: sold[code] - cancelled[code] for code in set(sold) | set(cancelled)})
    return {"revenue": dict(revenue), "refunds": dict(refunds), "sold": sold, "cancelled": cancelled,
            "top": sorted(net.items(), key=lambda item: (-item[1], item[0]))[:10]}
