"""What rendering content can fail with."""


class MergeError(Exception):
    """A problem with merge syntax or a merge field; ``location`` says where."""

    def __init__(self, message, location="", missing_data=False):
        super().__init__(message, location, missing_data)
        self.message = message
        self.location = location
        # True when the cause is data the content needs and does not have; the missing
        # field itself is then also recorded by collect_missing().
        self.missing_data = missing_data

    def __str__(self):
        return f"{self.location}: {self.message}" if self.location else self.message


# What a filter or an operator raises on values it cannot take ('a'|dictsort, 1|wordwrap...).
EVALUATION_ERRORS = (TypeError, ValueError, ArithmeticError, AttributeError, LookupError, AssertionError)

# Errors Python itself raises on content built to exhaust it: parentheses nested thousands
# deep (RecursionError), blocks nested deeper than Python compiles (SyntaxError), a result
# that does not fit in memory. Each is a problem with the content, said as such.
EXHAUSTION_ERRORS = (RecursionError, SyntaxError, MemoryError)


def exhaustion_message(exc):
    if isinstance(exc, MemoryError):
        return "the content asks for more memory than a letter may use"
    return "the content is nested too deeply"
