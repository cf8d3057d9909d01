"""What devices tell the layers above without importing them (STYLE: imports only point down).

Sent inside the service's transaction, so a receiver's work commits or rolls back with it.
"""

from django.dispatch import Signal

# shipment=Shipment, delivered_on=date, actor=Actor
shipment_delivered = Signal()
# product_ids=set[int]: units became available for allocation
stock_available = Signal()
