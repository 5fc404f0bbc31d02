"""The largest values the domain accepts. Every view column holds them (tests/integration/test_limits_postgres.py
pushes them through every projection on PostgreSQL), so a value accepted here can never jam a view."""

from decimal import Decimal

MAX_UNITS = 10_000_000  # units in one movement, order line, count, or a safety stock
MAX_WEIGHT_G = 100_000  # grams: one unit or one parcel (100 kg, the most a courier takes)
MAX_MONEY = Decimal("1000000")  # yuan: a unit cost, a unit price, a discount, a fee, postage
MAX_ORDER_AMOUNT = Decimal("100000000")  # yuan: what one order may be paid
MAX_ORDER_LINES = 500
MAX_HISTORIC_ORDER_LINES = 5_000  # a past invoice (wholesale orders run to a thousand lines)
MAX_KIT_COMPONENTS = 20  # SKUs one platform SKU (a kit, 组合装) maps to
MAX_NAME = 200  # characters: a SKU's name, an order line's title, a reason
MAX_LENGTH_MM = 10_000  # millimetres: one side of a unit (10 m)
MAX_SHELF_LIFE_DAYS = 36_500  # days a unit keeps (100 years)
