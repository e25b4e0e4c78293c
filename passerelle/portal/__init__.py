"""The partner portal (docs/partners.md): one-click answers from the e-mails' signed links."""
