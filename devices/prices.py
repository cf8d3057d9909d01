"""Use case: Finance adds a product's price from a date (PAY-6, PAY-7). A price is never edited: a
change is a new dated row, and the rows before it are the history the invoices were made from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from devices import rules
from devices.models import Product, ProductPrice
from flex import clock
from flex.audit.trail import Actor, history_context, record
from flex.refusals import Refusal, Refused


def price_refusal(product: Product | None, valid_from: date) -> Refusal | None:
    """What `add_price` would refuse for this product and date, for a form to show on its field before
    anything is written. A product not saved yet has no price to replace."""
    replaces = product is not None and product.pk is not None
    replaces = replaces and ProductPrice.objects.filter(product=product, valid_from__lt=valid_from).exists()
    return rules.price_change_refusal(valid_from, clock.today(), replaces_price=replaces)


def add_price(
    product_id: int,
    *,
    valid_from: date,
    webshop_price: Decimal,
    recommended_retail_price: Decimal,
    addon_monthly_fee: Decimal | None,
    actor: Actor,
) -> ProductPrice:
    """Add a product's price from `valid_from`. A product's first price may start today; a new price of
    a product that has one starts on the first day of a month at least 30 days ahead (PAY-6, terms art.
    8.5; PAY-7, art. 12.1); none starts in the past. One price per product per day. Audited."""
    with transaction.atomic(), history_context(actor, "add_price"):
        # The product's row lock orders concurrent additions: the facts below stay true until commit.
        product = Product.objects.select_for_update().get(pk=product_id)
        replaces = ProductPrice.objects.filter(product=product, valid_from__lt=valid_from).exists()
        if refusal := rules.price_change_refusal(valid_from, clock.today(), replaces_price=replaces):
            raise Refused(refusal)
        if ProductPrice.objects.filter(product=product, valid_from=valid_from).exists():
            raise Refused(
                Refusal(
                    rule="PAY-6",
                    field="valid_from",
                    message=_("%(product)s already has a price from %(day)s.")
                    % {"product": product, "day": f"{valid_from:%d-%m-%Y}"},
                )
            )
        price = ProductPrice.objects.create(
            product=product,
            valid_from=valid_from,
            webshop_price=webshop_price,
            recommended_retail_price=recommended_retail_price,
            addon_monthly_fee=addon_monthly_fee,
        )
        record(
            actor,
            "add_price",
            price,
            rule="PAY-6",
            reason=f"{product} from {valid_from:%Y-%m-%d}",
            product=product.pk,
            valid_from=valid_from.isoformat(),
            webshop_price=str(webshop_price),
            recommended_retail_price=str(recommended_retail_price),
            addon_monthly_fee=None if addon_monthly_fee is None else str(addon_monthly_fee),
        )
    return price
