"""The reference site's demo: users in every role, a content library, register entries and
letters that show every feature working. Not part of the installable app."""
