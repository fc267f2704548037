"""Automotive: vehicles and their history, suppliers, parts, vehicle orders and call-offs, freight, reminders.

Revision ID: auto_0001
Revises: (branch base; depends on the core's customers, API keys and follow-up tasks)
"""

from __future__ import annotations

from alembic import op

revision = "auto_0001"
down_revision = None
branch_labels = ("automotive",)
depends_on = "0013_leads"

# Every table leads with tenant_id (primary key, indexes, composite foreign keys); `saas migrate`
# forces row-level security on each afterwards, as on every table with a tenant_id.
STATEMENTS = [
    """
CREATE TABLE auto_vehicles (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    customer_id UUID NOT NULL,
    vin VARCHAR(17) NOT NULL,
    make VARCHAR(100) NOT NULL,
    model VARCHAR(100) NOT NULL,
    year INTEGER NOT NULL,
    mileage INTEGER DEFAULT '0' NOT NULL,
    mileage_read_at TIMESTAMP WITH TIME ZONE,
    purchased_on DATE,
    warranty_ends_on DATE,
    finance_ends_on DATE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_vehicles PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_vehicles_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_vehicles_tenant_id_customer_id_customers FOREIGN KEY(tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE RESTRICT,
    CONSTRAINT ck_auto_vehicles_mileage_not_negative CHECK (mileage >= 0)
)
""",
    """
CREATE INDEX ix_auto_vehicles_tenant_created ON auto_vehicles (tenant_id, created_at, id)
""",
    """
CREATE INDEX ix_auto_vehicles_tenant_customer ON auto_vehicles (tenant_id, customer_id, created_at, id)
""",
    """
CREATE UNIQUE INDEX uq_auto_vehicles_tenant_vin ON auto_vehicles (tenant_id, vin)
""",
    """
CREATE TABLE auto_mileage_readings (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    vehicle_id UUID NOT NULL,
    mileage INTEGER NOT NULL,
    read_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_auto_mileage_readings PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_mileage_readings_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_mileage_readings_tenant_id_vehicle_id_auto_vehicles FOREIGN KEY(tenant_id, vehicle_id) REFERENCES auto_vehicles (tenant_id, id) ON DELETE CASCADE
)
""",
    """
CREATE INDEX ix_auto_mileage_readings_tenant_vehicle ON auto_mileage_readings (tenant_id, vehicle_id, read_at)
""",
    """
CREATE TABLE auto_service_records (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    vehicle_id UUID NOT NULL,
    performed_on DATE NOT NULL,
    mileage INTEGER NOT NULL,
    kind VARCHAR(100) NOT NULL,
    notes TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_service_records PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_service_records_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_service_records_tenant_id_vehicle_id_auto_vehicles FOREIGN KEY(tenant_id, vehicle_id) REFERENCES auto_vehicles (tenant_id, id) ON DELETE CASCADE
)
""",
    """
CREATE INDEX ix_auto_service_records_tenant_vehicle ON auto_service_records (tenant_id, vehicle_id, performed_on)
""",
    """
CREATE TABLE auto_suppliers (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    code VARCHAR(32) NOT NULL,
    name VARCHAR(200) NOT NULL,
    endpoint_url VARCHAR(500),
    channel VARCHAR(50) DEFAULT 'webhook' NOT NULL,
    secret_sealed TEXT,
    jit_window_minutes INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_suppliers PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_suppliers_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT ck_auto_suppliers_jit_window_not_negative CHECK (jit_window_minutes >= 0)
)
""",
    """
CREATE UNIQUE INDEX uq_auto_suppliers_tenant_code ON auto_suppliers (tenant_id, code)
""",
    """
CREATE TABLE auto_supplier_keys (
    tenant_id UUID NOT NULL,
    api_key_id UUID NOT NULL,
    supplier_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_supplier_keys PRIMARY KEY (tenant_id, api_key_id),
    CONSTRAINT fk_auto_supplier_keys_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_supplier_keys_tenant_id_supplier_id_auto_suppliers FOREIGN KEY(tenant_id, supplier_id) REFERENCES auto_suppliers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_supplier_keys_tenant_id_api_key_id_api_keys FOREIGN KEY(tenant_id, api_key_id) REFERENCES api_keys (tenant_id, id) ON DELETE CASCADE
)
""",
    """
CREATE TABLE auto_parts (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    supplier_id UUID NOT NULL,
    part_number VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    lead_time_hours INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_parts PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_parts_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_parts_tenant_id_supplier_id_auto_suppliers FOREIGN KEY(tenant_id, supplier_id) REFERENCES auto_suppliers (tenant_id, id) ON DELETE RESTRICT,
    CONSTRAINT ck_auto_parts_lead_time_not_negative CHECK (lead_time_hours >= 0)
)
""",
    """
CREATE UNIQUE INDEX uq_auto_parts_tenant_number ON auto_parts (tenant_id, part_number)
""",
    """
CREATE TABLE auto_vehicle_orders (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    customer_id UUID NOT NULL,
    model VARCHAR(100) NOT NULL,
    build_slot_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by_id UUID,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_vehicle_orders PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_vehicle_orders_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_vehicle_orders_tenant_id_customer_id_customers FOREIGN KEY(tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE RESTRICT
)
""",
    """
CREATE INDEX ix_auto_vehicle_orders_tenant_created ON auto_vehicle_orders (tenant_id, created_at, id)
""",
    """
CREATE TABLE auto_call_offs (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    order_id UUID NOT NULL,
    supplier_id UUID NOT NULL,
    due_at TIMESTAMP WITH TIME ZONE NOT NULL,
    confirm_by TIMESTAMP WITH TIME ZONE NOT NULL,
    status VARCHAR(16) DEFAULT 'created' NOT NULL,
    note TEXT,
    sent_at TIMESTAMP WITH TIME ZONE,
    confirmed_at TIMESTAMP WITH TIME ZONE,
    delivered_at TIMESTAMP WITH TIME ZONE,
    overdue_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_call_offs PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_call_offs_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_call_offs_tenant_id_order_id_auto_vehicle_orders FOREIGN KEY(tenant_id, order_id) REFERENCES auto_vehicle_orders (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_call_offs_tenant_id_supplier_id_auto_suppliers FOREIGN KEY(tenant_id, supplier_id) REFERENCES auto_suppliers (tenant_id, id) ON DELETE RESTRICT,
    CONSTRAINT ck_auto_call_offs_status_known CHECK (status IN ('created', 'sent', 'confirmed', 'shipped', 'delivered', 'rejected'))
)
""",
    """
CREATE INDEX ix_auto_call_offs_tenant_confirm_by ON auto_call_offs (tenant_id, confirm_by)
""",
    """
CREATE INDEX ix_auto_call_offs_tenant_created ON auto_call_offs (tenant_id, created_at, id)
""",
    """
CREATE INDEX ix_auto_call_offs_tenant_supplier ON auto_call_offs (tenant_id, supplier_id, created_at, id)
""",
    """
CREATE UNIQUE INDEX uq_auto_call_offs_tenant_order_supplier ON auto_call_offs (tenant_id, order_id, supplier_id)
""",
    """
CREATE TABLE auto_call_off_lines (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    call_off_id UUID NOT NULL,
    part_id UUID NOT NULL,
    quantity INTEGER NOT NULL,
    CONSTRAINT pk_auto_call_off_lines PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_call_off_lines_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_call_off_lines_tenant_id_call_off_id_auto_call_offs FOREIGN KEY(tenant_id, call_off_id) REFERENCES auto_call_offs (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_call_off_lines_tenant_id_part_id_auto_parts FOREIGN KEY(tenant_id, part_id) REFERENCES auto_parts (tenant_id, id) ON DELETE RESTRICT,
    CONSTRAINT ck_auto_call_off_lines_quantity_positive CHECK (quantity > 0)
)
""",
    """
CREATE UNIQUE INDEX uq_auto_call_off_lines_tenant_part ON auto_call_off_lines (tenant_id, call_off_id, part_id)
""",
    """
CREATE TABLE auto_freight_shipments (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    call_off_id UUID,
    carrier VARCHAR(100) NOT NULL,
    tracking_number VARCHAR(100) NOT NULL,
    status VARCHAR(16) DEFAULT 'planned' NOT NULL,
    planned_departure_at TIMESTAMP WITH TIME ZONE NOT NULL,
    planned_arrival_at TIMESTAMP WITH TIME ZONE NOT NULL,
    eta TIMESTAMP WITH TIME ZONE NOT NULL,
    cost NUMERIC(14, 2),
    currency VARCHAR(3),
    owner_id UUID,
    delayed_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_freight_shipments PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_freight_shipments_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_freight_shipments_tenant_id_call_off_id_auto_call_offs FOREIGN KEY(tenant_id, call_off_id) REFERENCES auto_call_offs (tenant_id, id) ON DELETE RESTRICT,
    CONSTRAINT ck_auto_freight_shipments_status_known CHECK (status IN ('planned', 'departed', 'in_transit', 'delayed', 'arrived', 'delivered', 'exception')),
    CONSTRAINT ck_auto_freight_shipments_cost_not_negative CHECK (cost IS NULL OR cost >= 0)
)
""",
    """
CREATE INDEX ix_auto_freight_shipments_tenant_created ON auto_freight_shipments (tenant_id, created_at, id)
""",
    """
CREATE TABLE auto_freight_legs (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    shipment_id UUID NOT NULL,
    position INTEGER NOT NULL,
    origin VARCHAR(200) NOT NULL,
    destination VARCHAR(200) NOT NULL,
    CONSTRAINT pk_auto_freight_legs PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_freight_legs_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_freight_legs_tenant_id_shipment_id_auto_freight_35b1 FOREIGN KEY(tenant_id, shipment_id) REFERENCES auto_freight_shipments (tenant_id, id) ON DELETE CASCADE
)
""",
    """
CREATE INDEX ix_auto_freight_legs_tenant_shipment ON auto_freight_legs (tenant_id, shipment_id, position)
""",
    """
CREATE TABLE auto_tracking_events (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    shipment_id UUID NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    location VARCHAR(200) NOT NULL,
    status VARCHAR(16) NOT NULL,
    eta TIMESTAMP WITH TIME ZONE,
    note TEXT,
    CONSTRAINT pk_auto_tracking_events PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_tracking_events_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_tracking_events_tenant_id_shipment_id_auto_frei_e0ba FOREIGN KEY(tenant_id, shipment_id) REFERENCES auto_freight_shipments (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_auto_tracking_events_status_known CHECK (status IN ('planned', 'departed', 'in_transit', 'delayed', 'arrived', 'delivered', 'exception'))
)
""",
    """
CREATE INDEX ix_auto_tracking_events_tenant_shipment ON auto_tracking_events (tenant_id, shipment_id, seq)
""",
    """
CREATE TABLE auto_reminder_rules (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    kind VARCHAR(20) NOT NULL,
    every_km INTEGER,
    every_months INTEGER,
    days_before INTEGER,
    active BOOLEAN DEFAULT 'true' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_reminder_rules PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_reminder_rules_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT ck_auto_reminder_rules_kind_known CHECK (kind IN ('service_mileage', 'service_time', 'warranty_end', 'finance_end')),
    CONSTRAINT ck_auto_reminder_rules_every_km_positive CHECK (every_km IS NULL OR every_km > 0),
    CONSTRAINT ck_auto_reminder_rules_every_months_positive CHECK (every_months IS NULL OR every_months > 0),
    CONSTRAINT ck_auto_reminder_rules_days_before_not_negative CHECK (days_before IS NULL OR days_before >= 0)
)
""",
    """
CREATE INDEX ix_auto_reminder_rules_tenant_created ON auto_reminder_rules (tenant_id, created_at, id)
""",
    """
CREATE TABLE auto_reminders (
    tenant_id UUID NOT NULL,
    id UUID DEFAULT gen_random_uuid() NOT NULL,
    vehicle_id UUID NOT NULL,
    rule_id UUID NOT NULL,
    kind VARCHAR(20) NOT NULL,
    due_on DATE NOT NULL,
    status VARCHAR(8) DEFAULT 'open' NOT NULL,
    task_id UUID,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_auto_reminders PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_auto_reminders_tenant_id_tenants FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_reminders_tenant_id_vehicle_id_auto_vehicles FOREIGN KEY(tenant_id, vehicle_id) REFERENCES auto_vehicles (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_auto_reminders_tenant_id_rule_id_auto_reminder_rules FOREIGN KEY(tenant_id, rule_id) REFERENCES auto_reminder_rules (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_auto_reminders_kind_known CHECK (kind IN ('service_mileage', 'service_time', 'warranty_end', 'finance_end')),
    CONSTRAINT ck_auto_reminders_status_known CHECK (status IN ('open', 'done'))
)
""",
    """
CREATE INDEX ix_auto_reminders_tenant_due ON auto_reminders (tenant_id, due_on, id)
""",
    """
CREATE UNIQUE INDEX uq_auto_reminders_tenant_vehicle_rule_due ON auto_reminders (tenant_id, vehicle_id, rule_id, due_on)
""",
]

TABLES = [
    "auto_vehicles",
    "auto_mileage_readings",
    "auto_service_records",
    "auto_suppliers",
    "auto_supplier_keys",
    "auto_parts",
    "auto_vehicle_orders",
    "auto_call_offs",
    "auto_call_off_lines",
    "auto_freight_shipments",
    "auto_freight_legs",
    "auto_tracking_events",
    "auto_reminder_rules",
    "auto_reminders",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
