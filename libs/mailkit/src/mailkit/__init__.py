"""Mail as the platform writes it: templates with merge fields, MIME assembled as bytes,
DKIM signatures, and a campaign compiled once then rendered per recipient. Used by delivery
(the mails it sends) and by the composer (previews, sending domains' keys)."""
