from django import template

from flex.money import format_eur

register = template.Library()


@register.filter
def eur(amount):
    """Show an amount the Dutch way: € 1.234,56."""
    return "" if amount is None else format_eur(amount)
