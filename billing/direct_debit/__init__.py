"""SEPA direct debit, the file side: what a pain.008 may contain (`epc`), and writing and validating the
file as a stream (`pain008`, against the official XSD shipped in `schemas/`).

The records (mandates, batches, collections) are models in `billing.models`; the use cases in
`billing.services.mandates` and `billing.services.direct_debit`; the bank behind
`billing.adapters.bank`. See docs/direct-debit.md.
"""
