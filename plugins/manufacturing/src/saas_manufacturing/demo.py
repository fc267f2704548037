"""The plugin's demo data (`saas_demo`): opening stock of the demo products in the default
warehouse, then a couple of orders placed by a sales rep for their own customers.

Runs after the core's demo data, so the product catalog exists; writes through the plugin's own
services (a stock receipt per product, `place_order` reserving stock), acting as the demo team,
with quantities from `demo.rng` only, so every demo tenant gets the same stock and orders.
"""

from __future__ import annotations

from sqlalchemy import select

from saas.plugin_api import DemoContext, NotFoundError, Product, get_customer
from saas_manufacturing.service import inventory, orders, warehouses
from saas_manufacturing.service.common import Actor

ORDER_NOTES = ("Deliver to the loading dock, please", "Monthly restock")


def seed_demo(demo: DemoContext) -> None:
    session, rng = demo.session, demo.rng
    warehouse = warehouses.default_warehouse(session)
    products = list(session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.sku)))
    if warehouse is None or not products:
        return
    stockist = Actor(demo.owner)
    for product in products:
        data = {"kind": "receipt", "quantity": rng.randrange(60, 400), "reference": "Opening stock"}
        inventory.record_movement(session, stockist, product.id, warehouse.id, data)
    rep = demo.members[-1]  # a sales rep, who owns some of the demo customers
    own = []
    for customer_id in demo.customer_ids:
        try:
            if get_customer(session, rep, customer_id).owner_id == rep.membership_id:
                own.append(customer_id)
        except NotFoundError:  # another rep's
            continue
        if len(own) == len(ORDER_NOTES):
            break
    for customer_id, note in zip(own, ORDER_NOTES, strict=False):
        lines = [
            orders.LineInput(product_id=product.id, quantity=rng.randrange(1, 20))
            for product in rng.sample(products, min(2, len(products)))
        ]
        orders.place_order(session, Actor(rep), customer_id, warehouse.id, lines, note)
