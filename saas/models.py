"""Imports every model so that `Base.metadata` is complete (migrations and tests use it)."""

from saas.accounts.models import ApiKey, Membership, Tenant, User
from saas.audit.models import AuditEntry
from saas.automation.models import AutomationCursor, AutomationRule, AutomationRun
from saas.campaigns.models import Campaign, CampaignMember, CampaignResponse
from saas.custom_fields.models import CustomFieldDefinition, CustomFieldUniqueValue
from saas.customers.models import Contact, Customer
from saas.db.base import Base
from saas.deals.models import (
    Contract,
    DealSettings,
    Installment,
    Invoice,
    Opportunity,
    Order,
    OrderLine,
    Payment,
    PaymentPlan,
    PipelineStage,
    StageChange,
)
from saas.downloads.models import Download, DownloadChunk
from saas.events.models import OutboxEvent
from saas.exports.models import ExportJob
from saas.followups.models import Activity, CustomerHandover, Task, TaskReminder, WrittenTimelineEntry
from saas.imports.models import ImportJob, ImportRow
from saas.jobs.models import ProcessedJob
from saas.knowledge.models import Article
from saas.leads.models import Channel, Lead, SalesSettings
from saas.notifications.models import Notification
from saas.plugin_host.models import TenantPlugin
from saas.portal.models import PortalAccess
from saas.products.models import Product
from saas.returns.models import ReturnLine, ReturnRequest
from saas.sensitive.models import ReencryptRun, SensitiveField, TenantKey
from saas.teams.models import Team, TeamMember
from saas.tenant_data.models import TenantExport
from saas.tickets.models import (
    AgentSkills,
    ClassificationRule,
    SlaPolicy,
    Ticket,
    TicketComment,
    TicketCounter,
    TicketType,
)
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from saas.workorders.models import WorkOrder

__all__ = [
    "Activity",
    "AgentSkills",
    "ApiKey",
    "Article",
    "AuditEntry",
    "AutomationCursor",
    "AutomationRule",
    "AutomationRun",
    "Base",
    "Campaign",
    "CampaignMember",
    "CampaignResponse",
    "Channel",
    "ClassificationRule",
    "Contact",
    "Contract",
    "CustomFieldDefinition",
    "CustomFieldUniqueValue",
    "Customer",
    "CustomerHandover",
    "DealSettings",
    "Download",
    "DownloadChunk",
    "ExportJob",
    "ImportJob",
    "ImportRow",
    "Installment",
    "Invoice",
    "Lead",
    "Membership",
    "Notification",
    "Opportunity",
    "Order",
    "OrderLine",
    "OutboxEvent",
    "Payment",
    "PaymentPlan",
    "PipelineStage",
    "PortalAccess",
    "ProcessedJob",
    "Product",
    "ReencryptRun",
    "ReturnLine",
    "ReturnRequest",
    "SalesSettings",
    "SensitiveField",
    "SlaPolicy",
    "StageChange",
    "Task",
    "TaskReminder",
    "Team",
    "TeamMember",
    "Tenant",
    "TenantExport",
    "TenantKey",
    "TenantPlugin",
    "Ticket",
    "TicketComment",
    "TicketCounter",
    "TicketType",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WorkOrder",
    "WrittenTimelineEntry",
]
