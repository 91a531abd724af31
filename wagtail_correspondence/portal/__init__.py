"""The customer portal: a signed, expiring link per letter, where the customer reads the
letter, acknowledges it or replies. No account needed: the link is the key, so it is signed
(tampering is detected), expires, and its pages are never cached or passed on as a referrer."""
