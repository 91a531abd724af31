"""The configuration stamp's triggers: every write to what registering an entry reads of the
configuration gives ``ConfigurationStamp`` a new token, in the same transaction.

Triggers rather than signals, because the configuration also changes without ``save()``: a
queryset ``update()``, a tree move (django-treebeard rewrites paths with ``UPDATE``), a bulk
insert, a data migration. They are (re)installed after every ``migrate`` from the models as
they are then, so a column added later is watched too, and SQLite, which drops a table's
triggers when a migration rebuilds it, gets them back.
"""

from django.db import connections

FUNCTION = "wc_configuration_changed"


def watched():
    """(model, columns watched on UPDATE or None for all) of the configuration registration reads."""
    from .models import BusinessCalendar, Category, Department, RoutingRule, SlaPolicy

    rule_columns = [field.column for field in RoutingRule._meta.concrete_fields
                    if field.name != "last_assignee"]  # the round-robin turn, written by every registration
    return [(RoutingRule, rule_columns), (RoutingRule.categories.through, None), (Category, None),
            (Department, None), (SlaPolicy, None), (BusinessCalendar, None)]


def install(using="default"):
    """Create or replace the triggers and make sure the stamp's row exists."""
    from .models import ConfigurationStamp

    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return  # no triggers: services.lookups reads the configuration on every run
    tables = set(connection.introspection.table_names())
    if ConfigurationStamp._meta.db_table not in tables:
        return  # migrated only part of the way (to a migration before 0039)
    if not ConfigurationStamp.objects.using(using).exists():
        ConfigurationStamp.objects.using(using).create(pk=1, token=_token_python())
    quote = connection.ops.quote_name
    stamp = quote(ConfigurationStamp._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$ BEGIN "
                f"UPDATE {stamp} SET token = md5(random()::text || clock_timestamp()::text); "
                "RETURN NULL; END $$ LANGUAGE plpgsql")
        for model, columns in watched():
            table = model._meta.db_table
            if table not in tables:
                continue
            if columns:  # a database migrated part of the way may lack a column the model has
                present = {column.name for column in connection.introspection.get_table_description(cursor, table)}
                columns = [column for column in columns if column in present]
            for statement in _statements(connection.vendor, quote, table, stamp, columns):
                cursor.execute(statement)


def uninstall(using="default"):
    """Drop the triggers (before the stamp's table goes: migrating back past 0039)."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    quote = connection.ops.quote_name
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for model, _columns in watched():
            table = model._meta.db_table
            if connection.vendor == "sqlite":
                for suffix in ("ins", "upd", "del"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(_name(table) + '_' + suffix)}")
            elif table in tables:
                cursor.execute(f"DROP TRIGGER IF EXISTS {quote(_name(table))} ON {quote(table)}")
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


def _name(table):
    return f"wc_cfg_{table}"[:60]


def _statements(vendor, quote, table, stamp, columns):
    name = _name(table)
    update = f"UPDATE OF {', '.join(quote(column) for column in columns)}" if columns else "UPDATE"
    if vendor == "postgresql":
        # Once per statement: a tree move that rewrites a hundred paths changes the token once.
        return [f"CREATE OR REPLACE TRIGGER {quote(name)} AFTER INSERT OR {update} OR DELETE OR TRUNCATE "
                f"ON {quote(table)} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"]
    new_token = f"UPDATE {stamp} SET token = lower(hex(randomblob(16)))"
    statements = []
    for event, suffix in (("INSERT", "ins"), (update, "upd"), ("DELETE", "del")):
        trigger = quote(f"{name}_{suffix}")
        statements += [f"DROP TRIGGER IF EXISTS {trigger}",
                       f"CREATE TRIGGER {trigger} AFTER {event} ON {quote(table)} BEGIN {new_token}; END"]
    return statements


def _token_python():
    import secrets

    return secrets.token_hex(16)


def installed_after_migrate(sender, app_config=None, using="default", plan=None, **kwargs):
    """post_migrate receiver: install once the correspondence app's tables exist."""
    if app_config is None or app_config.label != "wagtail_correspondence":
        return
    install(using)
