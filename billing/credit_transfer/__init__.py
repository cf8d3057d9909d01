"""SEPA credit transfers out of Flex's account: refunds to a subscriber's bank account (pain.001)."""
