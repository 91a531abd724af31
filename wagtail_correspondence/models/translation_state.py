"""When a language variant is out of date: the rule letters and the screens share."""


def is_out_of_date(source_published_at, variant_written_at):
    """A variant is out of date when its source was approved (published) again after the
    variant's live wording was written: the translation says what the source used to say."""
    return bool(source_published_at and variant_written_at and source_published_at > variant_written_at)
