"""The files the bank sends back: reading pain.002 / camt.054 / camt.053 (`iso20022`), matching incoming
transfers to invoices (`matching`) and writing such files (`documents`, for the sandbox bank and tests).
The use cases that book what they say are in billing/services/bank_files.py; docs/direct-debit.md,
"Bank files in"."""
