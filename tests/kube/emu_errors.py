# tests/kube/emu_errors.py
#
# Errors of the API-server emulator, shaped as Kubernetes reports them: field errors
# (k8s.io/apimachinery/pkg/util/validation/field: a path, a type and a body such as
# "Invalid value: 70000: must be ...") and the metav1.Status body every failed request
# carries (kind Status, status Failure, reason, code, details.causes[]).
# Standard library only.

import json

# field.ErrorType -> the cause reason in Status.details.causes[].reason
REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TYPE_INVALID = "FieldValueTypeInvalid"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"


def _fmt_value(v):
    """The value as Go's field errors print it: strings quoted, numbers bare."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if v is None:
        return "null"
    if isinstance(v, dict):
        return '"object"'
    if isinstance(v, list):
        return '"array"'
    return json.dumps(str(v))


class FieldError:
    """One field.Error: kind is one of the FieldValue* reasons above."""

    def __init__(self, kind, field, value=None, detail="", supported=None):
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail
        self.supported = supported or []

    def body(self):
        d = (": " + self.detail) if self.detail else ""
        if self.kind == REQUIRED:
            return "Required value" + d
        if self.kind == NOT_SUPPORTED:
            s = "Unsupported value: " + _fmt_value(self.value)
            if self.supported:
                s += ": supported values: " + ", ".join(json.dumps(x) for x in self.supported)
            return s
        if self.kind == DUPLICATE:
            return "Duplicate value: " + _fmt_value(self.value)
        if self.kind == FORBIDDEN:
            return "Forbidden" + d
        if self.kind == TOO_LONG:
            return "Too long" + d
        if self.kind == TOO_MANY:
            return "Too many: " + _fmt_value(self.value) + d
        return "Invalid value: " + _fmt_value(self.value) + d

    def __str__(self):
        return "%s: %s" % (self.field, self.body()) if self.field else self.body()

    def cause(self):
        return {"reason": self.kind, "message": self.body(), "field": self.field}


class ApiError(Exception):
    """A request that fails: becomes a metav1.Status body with the HTTP status `code`."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            st["details"] = self.details
        return st


def qualified(kind_or_plural, group):
    return kind_or_plural + ("." + group if group else "")


def not_found(group, plural, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(plural, group), name),
                    {"name": name, "group": group, "kind": plural})


def already_exists(group, plural, name):
    return ApiError(409, "AlreadyExists",
                    '%s "%s" already exists' % (qualified(plural, group), name),
                    {"name": name, "group": group, "kind": plural})


def conflict(group, plural, name, why=None):
    msg = ('Operation cannot be fulfilled on %s "%s": %s' %
           (qualified(plural, group), name,
            why or "the object has been modified; please apply your changes to the latest "
                   "version and try again"))
    return ApiError(409, "Conflict", msg, {"name": name, "group": group, "kind": plural})


def invalid(group, kind, name, errs):
    """422 Invalid for a list of FieldError (as apierrors.NewInvalid words it)."""
    if len(errs) == 1:
        agg = str(errs[0])
    else:
        agg = "[" + ", ".join(str(e) for e in errs) + "]"
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified(kind, group), name, agg),
                    {"name": name, "group": group, "kind": kind,
                     "causes": [e.cause() for e in errs]})


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def expired(msg):
    return ApiError(410, "Expired", msg)


def method_not_allowed(msg="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", msg)


def unsupported_media(accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: " + ", ".join(accepted))


def forbidden(group, plural, name, why):
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' %
                    (qualified(plural, group), name, why),
                    {"name": name, "group": group, "kind": plural})


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")
