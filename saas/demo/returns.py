"""Demo returns: an order of demo products, a refunded return and one still requested."""

from __future__ import annotations

from sqlalchemy import select

from saas.deals import service as deals
from saas.deals.models import OrderLine
from saas.plugin_host.contributions import DemoContext
from saas.products import service as products
from saas.returns import service

# The products of the order returns are made from: (SKU, name, unit price in EUR).
PRODUCTS = (
    ("SVC-PUMP-200", "Circulation pump 200", "480.00"),
    ("SVC-SEAL-KIT", "Seal kit", "35.50"),
)


def seed_returns(demo: DemoContext) -> None:
    """An order of a demo customer (with its own products, so this step depends on no other), then a
    return taken through to its refund and a second one still requested."""
    if not demo.customer_ids:
        return  # a demo without customers has nobody to serve
    customer_id = demo.customer_ids[demo.rng.randrange(len(demo.customer_ids))]
    lines = []
    for sku, name, price in PRODUCTS:
        product = products.create_product(
            demo.session, demo.owner, {"sku": sku, "name": name, "unit_price": price, "currency": "EUR"}
        )
        lines.append({"product_id": product.id, "quantity": demo.rng.randint(4, 12)})
    order = deals.create_order(demo.session, demo.owner, {"customer_id": customer_id, "lines": lines})
    pump, seals = demo.session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position)
    ).all()
    damaged = service.create_return_request(
        demo.session,
        demo.owner,
        {
            "order_id": order.id,
            "reason": "Two pumps arrived with cracked housings.",
            "lines": [{"order_line_id": pump.id, "quantity": 2}],
        },
    )
    service.approve_return(demo.session, demo.owner, damaged.id)
    service.receive_return(demo.session, demo.owner, damaged.id)
    service.refund_return(demo.session, demo.owner, damaged.id, damaged.value)
    service.create_return_request(
        demo.session,
        demo.owner,
        {
            "order_id": order.id,
            "reason": "One seal kit too many.",
            "lines": [{"order_line_id": seals.id, "quantity": 1}],
        },
    )
