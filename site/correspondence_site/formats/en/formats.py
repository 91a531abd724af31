# One format for every date the product shows an English-speaking user: "4 Dec 2026, 21:52".
# Django's English defaults mix "12/04/2026 9:52 p.m." (month first, a.m./p.m.) with
# "Dec. 4, 2026"; the short and long names are the same here so that no screen differs.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
