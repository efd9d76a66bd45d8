"""DynamoDB for awsemu: the item calls iamkeys' --lock dynamodb:TABLE uses.

PutItem, GetItem, UpdateItem and DeleteItem (JSON 1.0, X-Amz-Target
DynamoDB_20120810.<Action>, content type application/x-amz-json-1.0), with
ConditionExpression, UpdateExpression (SET), ExpressionAttributeNames and
ExpressionAttributeValues, ReturnValues and ReturnValuesOnConditionCheckFailure.
Errors are shaped as DynamoDB's: HTTP 400 with
{"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
 "message": "The conditional request failed"}.

Condition expressions: attribute_exists(path), attribute_not_exists(path),
the comparators = <> < <= > >=, AND, OR, NOT and parentheses, with DynamoDB's
precedence (NOT, then AND, then OR). Paths are top-level attribute names or
#placeholders. Comparing attributes of different types (or a missing
attribute) is false, as in DynamoDB. Expression attribute names or values that
an expression does not use are a ValidationException, as in DynamoDB.

Tables live per account and region. In a fixture, an account lists them:

    "dynamodb_tables": [{"name": "iamkeys-locks", "region": "us-east-1",
                         "key": "LockID", "items": [{"LockID": {"S": "..."}, ...}]}]

(the partition key is a string; "key" defaults to "LockID", "region" to
us-east-1). The state dump lists them the same way.

Self-contained: awsemu/__init__.py registers it with register(module) and calls
load_tables() / dump_tables() from its fixture load and dump.
"""
import decimal
import re

SERVICE = "dynamodb"
TARGET_PREFIX = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"

_ApiError = None  # awsemu.ApiError, set by register()


def _err(code, message, status=400, extra=None):
    return _ApiError(code, message, status, extra=extra)


def _validation(message):
    return _err("ValidationException", message)


# ----------------------------------------------------------------------------- state

def _table_arn(account, region, name):
    return "arn:aws:dynamodb:%s:%s:table/%s" % (region, account, name)


def load_tables(fx):
    """{(account, region, name): table} from a fixture's accounts' "dynamodb_tables"."""
    tables = {}
    accs = fx.get("accounts", [])
    if isinstance(accs, dict):
        accs = [dict(v, id=k) for k, v in accs.items()]
    for a in accs:
        for t in a.get("dynamodb_tables", []) or []:
            name = t.get("name")
            if not name or not re.fullmatch(r"[a-zA-Z0-9_.-]{3,255}", name):
                raise ValueError("bad DynamoDB table name %r" % name)
            region = t.get("region", "us-east-1")
            key = t.get("key", "LockID")
            items = {}
            for it in t.get("items", []) or []:
                _check_item(it)
                kv = it.get(key, {}).get("S")
                if kv is None:
                    raise ValueError("item of table %s without string key %s" % (name, key))
                items[kv] = it
            tables[(str(a.get("id")), region, name)] = {
                "name": name, "region": region, "key": key, "items": items}
    return tables


def dump_tables(emu, account):
    return [{"name": t["name"], "region": t["region"], "key": t["key"],
             "items": [t["items"][k] for k in sorted(t["items"])]}
            for (acc, _, _), t in sorted(getattr(emu, "dynamodb", {}).items()) if acc == account]


# ----------------------------------------------------------------------------- values

_TYPES = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")


def _check_value(v, where):
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in _TYPES:
        raise _validation("Supplied AttributeValue is empty, must contain exactly one of the "
                          "supported datatypes")
    t, x = next(iter(v.items()))
    if t == "N":
        if not isinstance(x, str):
            raise _err("SerializationException", "NUMBER_VALUE cannot be converted to String")
        try:
            decimal.Decimal(x)
        except decimal.InvalidOperation:
            raise _validation("The parameter cannot be converted to a numeric value: %s" % x)
    elif t == "S" and not isinstance(x, str):
        raise _err("SerializationException", "Unexpected value type in payload")
    elif t == "M":
        for k, y in x.items():
            _check_value(y, where)
    elif t == "L":
        for y in x:
            _check_value(y, where)


def _check_item(item):
    if not isinstance(item, dict):
        raise _err("SerializationException", "Start of structure or map found where not expected.")
    for k, v in item.items():
        _check_value(v, k)


def _compare_key(v):
    t, x = next(iter(v.items()))
    return t, (decimal.Decimal(x) if t == "N" else x)


# ----------------------------------------------------------------------------- expressions

_TOKEN = re.compile(r"\s*(?:(<>|<=|>=|=|<|>|\(|\)|,)|(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|"
                    r"([A-Za-z_][A-Za-z0-9_]*))")


class _Expr:
    """Tokens of one expression, and which placeholders it used."""

    def __init__(self, text, kind, names, values):
        self.kind = kind
        self.names = names or {}
        self.values = values or {}
        self.used_names = set()
        self.used_values = set()
        self.toks = []
        pos = 0
        text = text or ""
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise _validation("Invalid %s: Syntax error; token: \"%s\", near: \"%s\""
                                  % (kind, text[pos:pos + 1], text[max(0, pos - 5):pos + 5]))
            self.toks.append(next(g for g in m.groups() if g is not None))
            pos = m.end()
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want=None):
        t = self.peek()
        if t is None or (want is not None and t.upper() != want):
            raise _validation("Invalid %s: Syntax error; token: \"%s\", near: \"%s\""
                              % (self.kind, t or "<EOF>", t or ""))
        self.i += 1
        return t

    def name(self, tok):
        if tok.startswith("#"):
            if tok not in self.names:
                raise _validation("Invalid %s: An expression attribute name used in the "
                                  "document path is not defined; attribute name: %s"
                                  % (self.kind, tok))
            self.used_names.add(tok)
            return self.names[tok]
        if tok.startswith(":") or tok.upper() in ("AND", "OR", "NOT", "SET", "REMOVE"):
            raise _validation("Invalid %s: Syntax error; token: \"%s\"" % (self.kind, tok))
        return tok

    def value(self, tok):
        if tok not in self.values:
            raise _validation("Invalid %s: An expression attribute value used in expression "
                              "is not defined; attribute value: %s" % (self.kind, tok))
        self.used_values.add(tok)
        return self.values[tok]


def _parse_condition(e):
    """A predicate item -> bool for the tokens of a ConditionExpression."""
    def joined(word, part, join):
        """part (word part)*, left to right: the predicates of the parts joined by join."""
        left = part()
        while e.peek() and e.peek().upper() == word:
            e.take()
            left = join(left, part())
        return left

    def or_expr():
        return joined("OR", and_expr, lambda a, b: lambda it: a(it) or b(it))

    def and_expr():
        return joined("AND", not_expr, lambda a, b: lambda it: a(it) and b(it))

    def not_expr():
        if e.peek() and e.peek().upper() == "NOT":
            e.take()
            inner = not_expr()
            return lambda it: not inner(it)
        return primary()

    def operand():
        t = e.take()
        if t.startswith(":"):
            v = e.value(t)
            return lambda it: v
        name = e.name(t)
        return lambda it: it.get(name)

    def primary():
        t = e.peek()
        if t == "(":
            e.take()
            inner = or_expr()
            e.take(")")
            return inner
        if t and t.lower() in ("attribute_exists", "attribute_not_exists"):
            fn = e.take().lower()
            e.take("(")
            name = e.name(e.take())
            e.take(")")
            if fn == "attribute_exists":
                return lambda it: name in it
            return lambda it: name not in it
        left = operand()
        op = e.take()
        if op not in ("=", "<>", "<", "<=", ">", ">="):
            raise _validation("Invalid %s: Syntax error; token: \"%s\"" % (e.kind, op))
        right = operand()

        def cmp(it):
            a, b = left(it), right(it)
            if a is None or b is None:
                return op == "<>" and not (a is None and b is None)
            (ta, xa), (tb, xb) = _compare_key(a), _compare_key(b)
            if ta != tb:
                return op == "<>"
            if op in ("<", "<=", ">", ">=") and ta not in ("S", "N", "B"):
                raise _validation("Invalid %s: Incorrect operand type for operator or "
                                  "function; operator or function: %s, operand type: %s"
                                  % (e.kind, op, ta))
            return {"=": xa == xb, "<>": xa != xb, "<": xa < xb, "<=": xa <= xb,
                    ">": xa > xb, ">=": xa >= xb}[op]
        return cmp

    pred = or_expr()
    if e.peek() is not None:
        raise _validation("Invalid %s: Syntax error; token: \"%s\"" % (e.kind, e.peek()))
    return pred


def _parse_update(e):
    """[(name, value)] of an UpdateExpression "SET a = :v, #b = :w"."""
    e.take("SET")
    out = []
    while True:
        name = e.name(e.take())
        e.take("=")
        t = e.take()
        if not t.startswith(":"):
            raise _validation("Invalid UpdateExpression: only SET path = :value is emulated")
        out.append((name, e.value(t)))
        if e.peek() != ",":
            break
        e.take(",")
    if e.peek() is not None:
        raise _validation("Invalid UpdateExpression: Syntax error; token: \"%s\"" % e.peek())
    return out


def _check_unused(params, exprs):
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    used_n = set().union(*[x.used_names for x in exprs]) if exprs else set()
    used_v = set().union(*[x.used_values for x in exprs]) if exprs else set()
    unused_n = sorted(set(names) - used_n)
    unused_v = sorted(set(values) - used_v)
    if unused_n:
        raise _validation("Value provided in ExpressionAttributeNames unused in expressions: "
                          "keys: {%s}" % ", ".join(unused_n))
    if unused_v:
        raise _validation("Value provided in ExpressionAttributeValues unused in expressions: "
                          "keys: {%s}" % ", ".join(unused_v))


# ----------------------------------------------------------------------------- handlers

def _table(emu, ctx):
    name = ctx.params.get("TableName")
    if not isinstance(name, str) or not name:
        raise _validation("1 validation error detected: Value null at 'tableName' failed to "
                          "satisfy constraint: Member must not be null")
    acc = ctx.principal.account.id
    emu.authorize(ctx, _table_arn(acc, ctx.region, name))
    t = getattr(emu, "dynamodb", {}).get((acc, ctx.region, name))
    if t is None:
        raise _err("ResourceNotFoundException", "Requested resource not found")
    return t


def _key_of(t, key):
    if not isinstance(key, dict) or set(key) != {t["key"]} or "S" not in key[t["key"]] \
            or len(key[t["key"]]) != 1:
        raise _validation("The provided key element does not match the schema")
    return key[t["key"]]["S"]


def _expressions(ctx):
    names = ctx.params.get("ExpressionAttributeNames")
    values = ctx.params.get("ExpressionAttributeValues")
    for v in (values or {}).values():
        _check_value(v, "ExpressionAttributeValues")
    if values is not None and not values:
        raise _validation("ExpressionAttributeValues must not be empty")
    if names is not None and not names:
        raise _validation("ExpressionAttributeNames must not be empty")
    return names, values


def _condition(ctx, names, values, exprs):
    text = ctx.params.get("ConditionExpression")
    if text is None:
        return lambda it: True
    e = _Expr(text, "ConditionExpression", names, values)
    pred = _parse_condition(e)
    exprs.append(e)
    return pred


def _check_condition(ctx, pred, old):
    if not pred(old or {}):
        extra = None
        if ctx.params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old:
            extra = {"Item": old}
        raise _err("ConditionalCheckFailedException", "The conditional request failed",
                   extra=extra)


def _return_values(ctx, allowed):
    rv = ctx.params.get("ReturnValues", "NONE")
    if rv not in allowed:
        raise _validation("ReturnValues can only be %s" % " or ".join(allowed))
    return rv


def _old_item_if(ctx, t, kv):
    """For a PutItem or DeleteItem: the item at kv now, once the request's
    ConditionExpression holds for it, and the request's ReturnValues."""
    names, values = _expressions(ctx)
    exprs = []
    pred = _condition(ctx, names, values, exprs)
    _check_unused(ctx.params, exprs)
    rv = _return_values(ctx, ("NONE", "ALL_OLD"))
    old = t["items"].get(kv)
    _check_condition(ctx, pred, old)
    return old, rv


def ddb_put_item(emu, ctx):
    t = _table(emu, ctx)
    item = ctx.params.get("Item")
    _check_item(item)
    if t["key"] not in item:
        raise _validation("One or more parameter values were invalid: Missing the key %s in "
                          "the item" % t["key"])
    kv = _key_of(t, {t["key"]: item[t["key"]]})
    old, rv = _old_item_if(ctx, t, kv)
    t["items"][kv] = item
    return {"Attributes": old} if rv == "ALL_OLD" and old else {}


def ddb_get_item(emu, ctx):
    t = _table(emu, ctx)
    kv = _key_of(t, ctx.params.get("Key"))
    it = t["items"].get(kv)
    return {"Item": it} if it is not None else {}


def ddb_delete_item(emu, ctx):
    t = _table(emu, ctx)
    kv = _key_of(t, ctx.params.get("Key"))
    old, rv = _old_item_if(ctx, t, kv)
    t["items"].pop(kv, None)
    return {"Attributes": old} if rv == "ALL_OLD" and old else {}


def ddb_update_item(emu, ctx):
    t = _table(emu, ctx)
    key = ctx.params.get("Key")
    kv = _key_of(t, key)
    names, values = _expressions(ctx)
    exprs = []
    pred = _condition(ctx, names, values, exprs)
    sets = []
    if ctx.params.get("UpdateExpression") is not None:
        e = _Expr(ctx.params["UpdateExpression"], "UpdateExpression", names, values)
        sets = _parse_update(e)
        exprs.append(e)
    _check_unused(ctx.params, exprs)
    rv = _return_values(ctx, ("NONE", "ALL_OLD", "ALL_NEW"))
    for name, _ in sets:
        if name == t["key"]:
            raise _validation("One or more parameter values were invalid: Cannot update "
                              "attribute %s. This attribute is part of the key" % name)
    old = t["items"].get(kv)
    _check_condition(ctx, pred, old)
    new = dict(old) if old else dict(key)
    for name, v in sets:
        new[name] = v
    t["items"][kv] = new
    if rv == "ALL_OLD":
        return {"Attributes": old} if old else {}
    if rv == "ALL_NEW":
        return {"Attributes": new}
    return {}


HANDLERS = {"PutItem": ddb_put_item, "GetItem": ddb_get_item, "UpdateItem": ddb_update_item,
            "DeleteItem": ddb_delete_item}


def register(awsemu):
    """Adds the service to awsemu's routing tables."""
    global _ApiError
    _ApiError = awsemu.ApiError
    awsemu.JSON_TARGETS[SERVICE] = TARGET_PREFIX
    awsemu.TARGET_TO_SERVICE[TARGET_PREFIX] = SERVICE
    awsemu.HANDLERS[SERVICE] = HANDLERS
    awsemu.JSON_VERSIONS[SERVICE] = (CONTENT_TYPE, ERROR_PREFIX)
