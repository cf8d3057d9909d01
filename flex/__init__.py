"""Flex: the back office of a Dutch device-rental subscription business."""

from flex.celery import app as celery_app

__all__ = ["celery_app"]
