# "4 déc 2026 21:52", months in lower case as French writes them: one format on every screen.
DATE_FORMAT = "j b Y"
DATETIME_FORMAT = "j b Y H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
TIME_FORMAT = "H:i"
