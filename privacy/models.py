"""Privacy owns no tables of its own yet: it reads every app through the personal-data register.

The disclosure log (PRIV-1) is `accounts.Disclosure`, next to the partners, because every layer that
talks to a partner writes to it and apps only import downwards.
"""
