"""Reasons the composer and recipients give, listed for the message catalog: the pages show
them through `rendering.reason`, in the page's language. Numbers become {n} and {m}."""

from console.i18n import N_

API_REASONS = (
    N_("is required"),
    N_("html_body or text_body is required"),
    N_("at least one customer or included group is required"),
    N_("at most {n} groups across include and exclude, got {m}"),
    N_("a group cannot be both included and excluded"),
    N_("must be in the future"),
    N_("must be within {n} days"),
    N_("must be at most {n} characters"),
    N_("must be at least {n} characters"),
    N_("is not a valid email address"),
    N_("not a valid address"),
    N_("must not contain CR, LF or NUL characters"),
    N_("must not be empty"),
    N_("is incorrect"),
    N_("email address or password is incorrect"),
    N_("too many failed sign-ins for this address: try again later"),
    N_("this address has an account in several companies: choose one"),
    N_("changing the sender or sending on behalf needs role manager or above"),
    N_("a user with this email already exists in the tenant"),
    N_("is not a known IANA time zone (e.g. Asia/Tokyo)"),
    N_("a scheduled campaign cannot be sent now: cancel it first (it returns to drafts)"),
    N_("the tenant's last admin cannot be demoted"),
    N_("invalid_address"),
    N_("duplicate"),
    N_("invalid_owner"),
    N_("too_long"),
    N_("customer not found"),
)
