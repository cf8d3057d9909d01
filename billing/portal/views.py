"""The subscriber's pages: the dashboard (subscription, devices, latest invoices), every invoice with
its PDF, paying an open invoice online, and the payment history."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing import pdf, selectors, services
from billing.models import Invoice, InvoiceStatus, Payment
from billing.reversal_reasons import reversal_reason
from billing.services.payments import credit_balance
from flex.audit.trail import Actor
from flex.refusals import Refused

DASHBOARD_INVOICES = 6
INVOICES_PER_PAGE = 24
PAYMENTS_PER_PAGE = 24
# The checkouts this browser opened, by invoice number: on return we ask the provider about that one.
CHECKOUTS_SESSION_KEY = "invoice_checkouts"


@login_required
def dashboard(request):
    subscriber = getattr(request.user, "subscriber", None)
    subscription = selectors.current_subscription(subscriber) if subscriber else None
    invoices = selectors.invoice_rows(selectors.subscriber_invoices(subscriber)) if subscriber else None
    latest = list(invoices[: DASHBOARD_INVOICES + 1]) if invoices is not None else []
    context = {
        "subscriber": subscriber,
        "subscription": subscription,
        "units": list(selectors.subscription_units(subscription)) if subscription else [],
        "addons": list(selectors.active_addons(subscription)) if subscription else [],
        "monthly_fee": selectors.monthly_fee(subscription) if subscription else None,
        "invoices": latest[:DASHBOARD_INVOICES],
        "more_invoices": len(latest) > DASHBOARD_INVOICES,
        "application": selectors.open_application(subscriber) if subscriber else None,
    }
    return render(request, "billing/dashboard.html", context)


@login_required
def invoices(request):
    """Every invoice and credit note of the subscriber, newest first, a page at a time, each with its
    status, its PDF and, while something is open on it, a button to pay it online."""
    subscriber = getattr(request.user, "subscriber", None)
    queryset = selectors.subscriber_invoices(subscriber) if subscriber else Invoice.objects.none()
    page = Paginator(selectors.invoice_rows(queryset), INVOICES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "billing/invoices.html", {"page": page, "invoices": page.object_list})


@login_required
@require_GET
def payments(request):
    """The subscriber's own payments, newest first, a page at a time: when each was booked, how much, by
    which method, which invoices it paid, and why a reversed one was reversed in plain words (not the
    bank's code); and the credit balance an overpayment left (PAY-1, PAY-2)."""
    subscriber = getattr(request.user, "subscriber", None)
    queryset = selectors.subscriber_payments(subscriber) if subscriber else Payment.objects.none()
    page = Paginator(queryset, PAYMENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(payment, reversal_reason(payment.reason_code) if payment.reversed_on else "") for payment in page]
    context = {
        "page": page,
        "rows": rows,
        "credit": credit_balance(subscriber.pk) if subscriber else None,
    }
    return render(request, "billing/payments.html", context)


@login_required
@require_GET
def invoice_pdf(request, number: str):
    """The subscriber's own invoice or credit note as a PDF download; anyone else's is not found."""
    subscriber = getattr(request.user, "subscriber", None)
    invoice = selectors.invoice_document(Invoice.objects.filter(number=number, subscriber=subscriber))
    if subscriber is None or invoice is None:
        raise Http404("no such invoice of yours")
    return pdf.download(invoice)


@login_required
@require_POST
def pay_invoice(request, number: str):
    """ "Pay now": to the payment provider's checkout for what is open on the invoice (PAY-1, PAY-2)."""
    subscriber = getattr(request.user, "subscriber", None)
    return_url = request.build_absolute_uri(reverse("portal:invoice_payment_return", args=[number]))
    try:
        checkout = services.start_invoice_payment(
            number, subscriber=subscriber, return_url=return_url, actor=Actor.of_user(request.user)
        )
    except Refused as refused:
        messages.error(request, str(refused.refusal))
        return redirect("portal:invoices")
    request.session[CHECKOUTS_SESSION_KEY] = {
        **request.session.get(CHECKOUTS_SESSION_KEY, {}),
        number: checkout.payment_id,
    }
    return HttpResponseRedirect(checkout.checkout_url)


@login_required
@require_GET
def invoice_payment_return(request, number: str):
    """Back from the checkout: the payment as the provider reports it, then the invoices page."""
    subscriber = getattr(request.user, "subscriber", None)
    checkouts = request.session.get(CHECKOUTS_SESSION_KEY, {})
    payment_id = checkouts.get(number, "")
    try:
        invoice = services.refresh_invoice_payment(
            number, payment_id, subscriber=subscriber, actor=Actor.of_user(request.user)
        )
    except Refused as refused:
        messages.warning(request, str(refused.refusal))
        return redirect("portal:invoices")
    if invoice is None:
        raise Http404("no such invoice of yours")
    if invoice.status == InvoiceStatus.PAID:
        request.session[CHECKOUTS_SESSION_KEY] = {n: p for n, p in checkouts.items() if n != number}
        messages.success(request, _("Thank you: invoice %(number)s is paid.") % {"number": number})
    else:
        messages.warning(
            request,
            _("Invoice %(number)s is not paid yet: the payment was not completed or is still being processed.")
            % {"number": number},
        )
    return redirect("portal:invoices")
