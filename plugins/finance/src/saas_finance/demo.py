"""Demo data: eight instruments with a year of weekday closes (a seeded random walk, in decimals),
three customers' accounts with deposits, trades, a dividend and a fee, and a target allocation.

Everything goes through the services, so the demo's ledger passes the same checks as the API's.
Prices are invented (like the `simulated` feed): not market data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from saas.plugin_api import DemoContext
from saas_finance.models import AssetClass, TransactionKind
from saas_finance.service import accounts, instruments, ledger, portfolio, quotes

CURRENCY = "EUR"
INSTRUMENTS = [
    ("ACME", "Acme Industries", AssetClass.EQUITY, Decimal("42.00")),
    ("GLBX", "Globex Corporation", AssetClass.EQUITY, Decimal("118.50")),
    ("INIT", "Initech", AssetClass.EQUITY, Decimal("17.25")),
    ("EUBD", "Euro Government Bond 2031", AssetClass.BOND, Decimal("98.40")),
    ("WRLD", "World Equity Index Fund", AssetClass.FUND, Decimal("75.10")),
    ("MMKT", "Euro Money Market Fund", AssetClass.CASH_EQUIVALENT, Decimal("10.00")),
    ("GOLD", "Gold (per gram)", AssetClass.COMMODITY, Decimal("61.20")),
    ("BTC", "Bitcoin", AssetClass.CRYPTO, Decimal("38000.00")),
]
CLOSE_TIME = time(16, 30, tzinfo=UTC)
PRICE_STEP = Decimal("0.0001")


def _trading_days(today: date) -> list[date]:
    start = today - timedelta(days=365)
    return [start + timedelta(days=n) for n in range(366) if (start + timedelta(days=n)).weekday() < 5]


def seed(demo: DemoContext) -> None:
    session, owner, rng = demo.session, demo.owner, demo.rng
    today = demo.now.astimezone(UTC).date()
    days = _trading_days(today)
    ids: dict[str, object] = {}
    closes: dict[tuple[str, date], Decimal] = {}
    batch: list[quotes.Quote] = []
    for symbol, name, asset_class, start in INSTRUMENTS:
        data = {"symbol": symbol, "name": name, "asset_class": asset_class, "currency": CURRENCY}
        ids[symbol] = instruments.create_instrument(session, owner, data).id
        price = start
        drift = 5 if asset_class != AssetClass.CASH_EQUIVALENT else 1
        swing = 250 if asset_class == AssetClass.CRYPTO else 20 if asset_class == AssetClass.CASH_EQUIVALENT else 120
        for day in days:
            step = Decimal(rng.randint(-swing, swing + drift)) / 10_000
            price = max((price * (1 + step)).quantize(PRICE_STEP), PRICE_STEP)
            closes[(symbol, day)] = price
            at = datetime.combine(day, CLOSE_TIME)
            batch.append(quotes.Quote(symbol, price, min(at, demo.now - timedelta(minutes=1))))
    for start_at in range(0, len(batch), quotes.MAX_BATCH):
        quotes.ingest(session, owner, batch[start_at : start_at + quotes.MAX_BATCH])

    def moment(day: date, minutes: int) -> datetime:
        return min(datetime.combine(day, time(10, 0, tzinfo=UTC)) + timedelta(minutes=minutes), demo.now)

    plans = [
        ("ACME", "WRLD", "EUBD", "GOLD"),
        ("GLBX", "INIT", "MMKT", "BTC"),
        ("WRLD", "EUBD", "ACME"),
    ]
    for number, (customer_id, held) in enumerate(zip(demo.customer_ids, plans, strict=False), start=1):
        account = accounts.open_account(
            session, owner, customer_id, {"currency": CURRENCY, "number": f"DEMO-{number:03d}"}
        )

        def record(
            kind: TransactionKind, day: date, minutes: int, account_id: object = account.id, **values: object
        ) -> None:
            data = {"kind": kind, "occurred_at": moment(day, minutes), **values}
            ledger.record_transaction(session, owner, account_id, data)  # type: ignore[arg-type]

        deposit = Decimal(rng.randrange(50_000, 150_000, 1_000))
        record(TransactionKind.DEPOSIT, days[0], 0, amount=deposit)
        budget = deposit * Decimal("0.8") / len(held)
        for index, symbol in enumerate(held):
            day = days[5 + index * 3]
            price = closes[(symbol, day)]
            whole = symbol not in ("BTC", "GOLD", "EUBD")
            quantity = (budget / price).quantize(Decimal(1) if whole else Decimal("0.0001"), rounding="ROUND_DOWN")
            record(
                TransactionKind.BUY,
                day,
                index,
                instrument_id=ids[symbol],
                quantity=quantity,
                price=price,
                fee=Decimal("4.90"),
            )
        sold = held[0]
        middle = days[len(days) // 2]
        record(
            TransactionKind.SELL,
            middle,
            0,
            instrument_id=ids[sold],
            quantity=Decimal(5) if sold != "BTC" else Decimal("0.1"),
            price=closes[(sold, middle)],
            fee=Decimal("4.90"),
        )
        record(
            TransactionKind.DIVIDEND,
            days[len(days) * 3 // 4],
            0,
            instrument_id=ids[held[1]],
            amount=Decimal(rng.randrange(100, 900)),
        )
        record(TransactionKind.FEE, days[-20], 0, amount=Decimal("25.00"))
        record(TransactionKind.DEPOSIT, days[-10], 0, amount=Decimal(rng.randrange(1_000, 10_000, 500)))
        if number == 1:
            targets = [
                ("equity", Decimal("0.5")),
                ("fund", Decimal("0.2")),
                ("bond", Decimal("0.2")),
                ("cash_equivalent", Decimal("0.1")),
            ]
            portfolio.set_targets(session, owner, account.id, targets)
