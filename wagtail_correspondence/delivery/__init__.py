"""Delivery channels (email, archive, ...): each sends one Dispatch and reports the outcome.

Channels know nothing of the outbox; ``services.dispatch`` claims rows, calls a channel, and
records what happened. A channel raises ``TemporaryDeliveryError`` when trying again later may
work (the server is down) and ``PermanentDeliveryError`` when it cannot (the address is refused).
"""
